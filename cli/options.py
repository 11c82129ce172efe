"""Option types shared by the commands that take or show times (parsed lazily, so ``--help``
stays fast): instants, bare dates and the zone they are read and shown in."""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypeAlias

import click

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

if TYPE_CHECKING:  # generic in the click mypy sees; older click releases are not subscriptable
    _InstantType: TypeAlias = click.ParamType[datetime | date]
    _ZoneType: TypeAlias = click.ParamType[tzinfo]
else:
    _InstantType = click.ParamType
    _ZoneType = click.ParamType


class Instant(_InstantType):
    """An ISO-8601 instant with an offset (``2024-05-01T08:00:00+07:00``, ``...Z``), or a bare
    date (``2024-05-01``): midnight at its start in the command's zone (``--tz``, else the
    directive's, else this machine's), resolved by :func:`instant`. A time without an offset is
    refused."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime | date:
        if isinstance(value, (datetime, date)):
            return value
        from workflow import InvalidInput, parse_instant

        text = str(value).strip()
        if _DATE.match(text):
            try:
                return date.fromisoformat(text)
            except ValueError as exc:
                self.fail(str(exc))
        try:
            return parse_instant(text, param.name if param and param.name else "time")
        except InvalidInput as exc:
            self.fail(str(exc))


INSTANT = Instant()

since_option = click.option("--since", type=INSTANT, help="Only events at or after TIME.")
until_option = click.option("--until", type=INSTANT, help="Only events at or before TIME.")


# --- the zone times are shown and read in ------------------------------------------------------

_GIVEN = "workflow.tz"
_DEFAULT = "workflow.tz.default"


class Zone(_ZoneType):
    """An IANA time zone name (``Asia/Ho_Chi_Minh``, ``UTC``)."""

    name = "ZONE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tzinfo:
        if isinstance(value, tzinfo):
            return value
        from zoneinfo import ZoneInfo

        try:
            return ZoneInfo(str(value))
        except (ValueError, LookupError):
            from workflow.i18n import _

            self.fail(
                _(
                    "{zone!r} is not a time zone of the IANA database (e.g. "
                    "Asia/Ho_Chi_Minh, UTC, Europe/Berlin)",
                    zone=value,
                )
            )


def _given(ctx: click.Context, _param: click.Parameter, value: tzinfo | None) -> None:
    if value is not None:
        ctx.meta[_GIVEN] = value


tz_option = click.option(
    "--tz",
    type=Zone(),
    metavar="ZONE",
    envvar="WORKFLOW_TZ",
    is_eager=True,
    expose_value=False,
    callback=_given,
    help="Show times, and read bare dates, in ZONE (e.g. Asia/Ho_Chi_Minh). Default: the "
    "directive's zone where there is one, else this machine's.",
)
"""``--tz ZONE`` (or ``WORKFLOW_TZ``): eager, so a bare date anywhere on the line reads in it."""


def prefer_zone(name: str | None) -> None:
    """The command's own zone (a directive's), used unless ``--tz`` was given."""
    if name:
        from zoneinfo import ZoneInfo

        click.get_current_context().meta[_DEFAULT] = ZoneInfo(name)


def zone() -> tzinfo:
    """The zone of this command: ``--tz``, else the one it prefers, else this machine's."""
    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    chosen = meta.get(_GIVEN) or meta.get(_DEFAULT)
    if chosen is None:
        from workflow.i18n import machine_zone

        chosen = machine_zone()
    assert isinstance(chosen, tzinfo)
    return chosen


def zone_given() -> bool:
    """Whether ``--tz`` (or ``WORKFLOW_TZ``) named the zone."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and _GIVEN in ctx.meta


def instant(value: datetime | date | None) -> datetime | None:
    """A TIME option's value as an instant: a bare date is midnight at its start in
    :func:`zone` (local midnight, not midnight UTC)."""
    if value is None or isinstance(value, datetime):
        return value
    from workflow.i18n import start_of_day

    return start_of_day(value, zone())


def timed(header: str) -> str:
    """A table's time column header, naming the zone its times are in."""
    from workflow.i18n import zone_name

    return f"{header} ({zone_name(zone())})"
