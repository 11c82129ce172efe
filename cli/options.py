"""Option types shared by the auditors' commands (parsed lazily, so ``--help`` stays fast)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import click

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

if TYPE_CHECKING:  # generic in the click mypy sees; older click releases are not subscriptable
    _InstantType: TypeAlias = click.ParamType[datetime]
else:
    _InstantType = click.ParamType


class Instant(_InstantType):
    """An ISO-8601 instant with an offset (``2024-05-01T08:00:00+07:00``, ``...Z``) or a date
    (``2024-05-01``, meaning 00:00 UTC); a time without an offset is refused."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        from workflow import InvalidInput, parse_instant

        text = str(value).strip()
        if _DATE.match(text):
            text += "T00:00:00Z"
        try:
            return parse_instant(text, param.name if param and param.name else "time")
        except InvalidInput as exc:
            self.fail(str(exc))


INSTANT = Instant()

since_option = click.option("--since", type=INSTANT, help="Only events at or after TIME.")
until_option = click.option("--until", type=INSTANT, help="Only events at or before TIME.")
