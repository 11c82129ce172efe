"""Printing results: JSON for scripts, aligned tables for people (Vietnamese text included)."""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext, suppress
from datetime import datetime
from typing import IO, Any

import click


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def emit_json(value: Any) -> None:
    """One JSON document, indented, UTF-8 text kept readable."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=_default))


def cut_short(shown: int, total: int | None) -> None:
    """Say on stderr that a list stopped at its limit: ``showing N of M; use --limit ...``.

    ``total`` is how many matched (None: more than ``shown``, uncounted).
    """
    from workflow.i18n import _

    if total is not None and total <= shown:
        return
    if total is None:
        message = _(
            "showing {shown:,} of more than {shown:,}; use --limit to see more", shown=shown
        )
    else:
        message = _(
            "showing {shown:,} of {total:,}; use --limit to see more", shown=shown, total=total
        )
    click.echo(message, err=True)


def emit_jsonl(value: Any) -> None:
    """One JSON Lines record (a stream of records is one per line)."""
    click.echo(json.dumps(value, ensure_ascii=False, default=_default))


@contextmanager
def output_file(path: str) -> Iterator[IO[str]]:
    """Where a command writes its ``-o FILE`` (exports, checkpoints, graphs): stdout for ``-``.

    Text, UTF-8; :func:`binary_output_file` is the same for bytes (xlsx workbooks).
    """
    with _output(path, binary=False) as out:
        yield out


@contextmanager
def binary_output_file(path: str) -> Iterator[IO[bytes]]:
    """:func:`output_file` for bytes: an xlsx workbook, atomically, 0600."""
    with _output(path, binary=True) as out:
        yield out


@contextmanager
def _output(path: str, *, binary: bool) -> Iterator[Any]:
    """Where a command writes its ``-o FILE``.

    A file is readable by its owner only (0600, as the database is: exports carry every
    payload), written under a temporary name beside it and renamed into place once complete,
    so a failed command leaves no partial file and an existing file changes only at the end.
    A symbolic link is refused, never followed (``-o link`` must not overwrite whatever the
    link points at); a device or a named pipe (``/dev/null``) is written in place.
    """
    from workflow import InvalidInput
    from workflow.i18n import _

    if path == "-":
        stream: Any = sys.stdout.buffer if binary else sys.stdout
        sys.stdout.flush()
        yield stream
        stream.flush()
        return
    try:
        mode: int | None = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise InvalidInput(_("cannot write {path}: {why}", path=path, why=exc.strerror)) from None
    if mode is not None and stat.S_ISLNK(mode):
        raise InvalidInput(
            _(
                "{path} is a symbolic link: refusing to write through it (name the file "
                "itself, or remove the link)",
                path=path,
            )
        )
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        with open(path, "wb") if binary else open(path, "w", encoding="utf-8") as device:
            yield device
        return
    folder, name = os.path.split(os.path.abspath(path))
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    except OSError as exc:
        raise InvalidInput(_("cannot write {path}: {why}", path=path, why=exc.strerror)) from None
    try:
        # mkstemp made it 0600
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8") as out:
            yield out
        os.replace(temporary, path)
    except IsADirectoryError:
        raise InvalidInput(_("cannot write {path}: it is a directory", path=path)) from None
    finally:
        with suppress(FileNotFoundError):
            os.unlink(temporary)


def use_color(stream: Any = None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def paint(text: str, color: str, *, err: bool = False) -> str:
    """``text`` in ``color`` when :func:`use_color` allows it, else unchanged."""
    stream = sys.stderr if err else sys.stdout
    return click.style(text, fg=color, bold=True) if use_color(stream) else text


def progress(iterable: Any, length: int | None, label: str) -> Any:
    """A progress bar on stderr when it is a terminal; the plain iterable otherwise."""
    if length is None or not sys.stderr.isatty():
        return nullcontext(iterable)
    return click.progressbar(iterable, length=length, label=label, file=sys.stderr)


@contextmanager
def progress_callback(length: int | None, label: str) -> Iterator[Callable[[int], None] | None]:
    """A callback moving a progress bar on stderr to the count it is given, when stderr is a
    terminal (None otherwise): how a library verb's ``progress`` is shown."""
    if length is None or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        done = 0

        def moved(count: int) -> None:
            nonlocal done
            bar.update(count - done)
            done = count

        yield moved


def width(text: str) -> int:
    """Display width: combining marks take no column, wide characters take two."""
    total = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [width(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], width(value))

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (widths[i] - width(v)) for i, v in enumerate(values)).rstrip()

    click.echo(line(headers))
    click.echo(line(["-" * w for w in widths]))
    for row in cells:
        click.echo(line(row))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        from workflow.i18n import format_moment

        from .options import zone

        return format_moment(value, zone())
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def load_json_option(text: str | None, what: str) -> dict[str, Any]:
    """A JSON object given inline or as ``@file`` (read to its limit); a clear error otherwise."""
    from workflow import MAX_JSON_FILE_BYTES, InvalidInput, parse_json, read_text
    from workflow.i18n import _

    if text is None:
        return {}
    source = what
    if text.startswith("@"):
        source = f"{what} {text}"
        text = read_text(text[1:], MAX_JSON_FILE_BYTES, what)
    value = parse_json(text, source)
    if not isinstance(value, dict):
        raise InvalidInput(_("{what} must be a JSON object", what=what))
    return value
