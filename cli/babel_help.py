"""Babel's extractor for this project (``make i18n-extract``, tests/test_i18n_catalogue.py): the
messages marked ``_()``, ``ngettext()`` and ``N_()``, as Babel's own Python extractor finds them,
and the CLI's help texts, which are written as plain text where Click reads them: a command's
docstring and an option's ``help=``. The CLI looks each help text up by its text
(``cli/language.py``), so what is extracted here is exactly what is looked up: the docstring as
:func:`inspect.cleandoc` leaves it.

Used by developers only (Babel is in the ``i18n`` extra); nothing at run time imports it.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

_DECORATORS = ("command", "group")


def extract(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: dict[str, Any],
) -> Iterator[tuple[Any, ...]]:
    """Babel's extraction method: what ``extract_python`` finds, then the help texts."""
    from babel.messages.extract import extract_python

    # (line, function name, message, comments), as Babel's own extractors yield them
    yield from extract_python(fileobj, keywords, comment_tags, options)  # type: ignore[arg-type]
    fileobj.seek(0)
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_command(node):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield node.lineno, "", inspect.cleandoc(doc), []
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                value = keyword.value
                if (
                    keyword.arg in ("help", "epilog")
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                    and value.value
                ):
                    yield value.lineno, "", inspect.cleandoc(value.value), []


def _is_command(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Decorated with ``click.command``/``group`` or ``some_group.command``/``group``."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr in _DECORATORS:
            return True
    return False
