"""The CLI's language: ``--lang``, then ``WORKFLOW_LANG``, then the command's own default
(Vietnamese for the directive commands and the demo), then the locale.

The messages come from the library's catalogue (``workflow.i18n``); help texts are looked up
there too, by their English text, when the help is shown.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from contextvars import Token

    from workflow.i18n import Language

VIETNAMESE_FIRST = frozenset({"directive", "units", "demo", "calendar"})
"""The commands the offices carrying out a directive use: Vietnamese unless told otherwise."""

_ENGLISH = "_workflow_help_en"


def speak(lang: Language, root: click.Command | None = None) -> Token[Language | None]:
    """Speak ``lang`` from now on: messages, and the help texts of ``root``'s commands. The
    token undoes it (``workflow.i18n.reset_language``)."""
    from workflow.i18n import set_language

    token = set_language(lang)
    if root is not None:
        _click_speaks_ours()
        _localize(root)
    return token


def choose(given: str | None, command: str | None, root: click.Command) -> None:
    """Settle the language once the command is known: ``--lang``/``WORKFLOW_LANG``, else the
    command's default, else the locale."""
    from workflow.i18n import resolve_language

    default: Language | None = "vi" if command in VIETNAMESE_FIRST else None
    speak(resolve_language(given, default), root)


def _click_speaks_ours() -> None:
    """Point Click's own messages (usage, help headings, usage errors) at the catalogue: each
    Click module looks them up through its ``_`` and ``ngettext`` (the standard library's,
    bound at import), which are replaced here, once. Their texts are marked for the catalogue
    in ``click_messages.py``."""
    import gettext
    import importlib

    from workflow.i18n import _

    def plural(singular: str, plural: str, count: int) -> str:
        return _(singular) if count == 1 else _(plural)

    for name in (
        "core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils",
    ):  # fmt: skip
        module = importlib.import_module(f"click.{name}")
        if getattr(module, "_", None) is gettext.gettext:
            module._ = _  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = plural  # type: ignore[attr-defined]


def _localize(command: click.Command) -> None:
    from workflow.i18n import _

    def translated(owner: object, attribute: str) -> None:
        english = getattr(owner, attribute, None)
        if not english:
            return
        originals: dict[str, str] = owner.__dict__.setdefault(_ENGLISH, {})
        source = originals.setdefault(attribute, inspect.cleandoc(english))
        setattr(owner, attribute, _(source))

    translated(command, "help")
    translated(command, "epilog")
    for param in command.params:
        translated(param, "help")
    help_option = getattr(command, "_help_option", None)  # made once, in the language then
    if isinstance(help_option, click.Option):
        translated(help_option, "help")
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _localize(sub)
