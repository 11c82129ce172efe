"""Messages in Vietnamese and English (one gettext catalogue for the library and the CLI), and
dates and times as people read them.

English is the source language: every message is written in English in the code, marked with
:func:`_` (or :func:`ngettext` for counts), and ``src/workflow/locale/vi/LC_MESSAGES/workflow.po``
holds its Vietnamese translation, compiled to ``workflow.mo`` (shipped in the wheel). Babel
extracts, updates and compiles the catalogue (``make i18n``); the runtime is the standard
library's :mod:`gettext`. How to add a message: docs/translations.md.

The language is a context variable, so a thread or a request of a service may use its own:
:func:`use_language` for a block, :func:`set_language` for the rest of the context. Unset, it is
``WORKFLOW_LANG`` when that names a language here, else the locale's (``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``: Vietnamese when it starts with ``vi``), else English. A message is
translated when it is made: an error raised under Vietnamese carries Vietnamese text.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "Language",
    "_",
    "as_language",
    "format_day",
    "format_decimal",
    "format_moment",
    "format_span",
    "gettext",
    "in_language",
    "language",
    "locale_language",
    "machine_zone",
    "ngettext",
    "reset_language",
    "resolve_language",
    "set_language",
    "start_of_day",
    "translations",
    "use_language",
    "zone_name",
]

Language: TypeAlias = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")
"""The languages of the messages: Vietnamese and English (the source language)."""

DOMAIN = "workflow"
LOCALE_DIR = Path(__file__).resolve().with_name("locale")
"""Where the compiled catalogues live: ``LOCALE_DIR/vi/LC_MESSAGES/workflow.mo``."""

_current: ContextVar[Language | None] = ContextVar("workflow_language", default=None)


def as_language(value: str | None) -> Language | None:
    """``value`` when it names a language of the catalogue (``vi``, ``en``, ``vi_VN.UTF-8``),
    else None."""
    if not value:
        return None
    code = value.strip().lower()[:2]
    return next((lang for lang in LANGUAGES if lang == code), None)


def locale_language() -> Language:
    """The language of the process's locale, as gettext reads it: the first of ``LANGUAGE``,
    ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is set; Vietnamese when it starts with ``vi``,
    English otherwise (``C``, ``POSIX``, any other language)."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "vi" if value.split(":")[0].lower().startswith("vi") else "en"
    return "en"


def resolve_language(given: str | None = None, default: Language | None = None) -> Language:
    """The language to speak: ``given`` (an option), else ``WORKFLOW_LANG``, else ``default``
    (a command's own: Vietnamese for the directive commands), else the locale's."""
    return (
        as_language(given)
        or as_language(os.environ.get("WORKFLOW_LANG"))
        or default
        or locale_language()
    )


def language() -> Language:
    """The language messages are made in now (see the module's docstring)."""
    return _current.get() or resolve_language()


def set_language(lang: Language) -> Token[Language | None]:
    """Speak ``lang`` from now on in this context; the token undoes it (``reset_language``)."""
    return _current.set(lang)


def reset_language(token: Token[Language | None]) -> None:
    _current.reset(token)


@contextmanager
def use_language(lang: Language) -> Iterator[None]:
    """Speak ``lang`` inside the block."""
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: Language) -> _gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English: the messages as written)."""
    if lang == "en":
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def _(message: str, /, **fields: object) -> str:
    """``message`` in the current language, its ``{name}`` fields filled from ``fields``.

    Without fields the text is returned as translated (braces stay as written).
    """
    text = translations(language()).gettext(message)
    return text.format(**fields) if fields else text


gettext = _


def ngettext(singular: str, plural: str, count: int, /, **fields: object) -> str:
    """The form of the message for ``count`` (``{count}`` is filled with it, and ``fields``)."""
    text = translations(language()).ngettext(singular, plural, count)
    return text.format(count=count, **fields)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (a constant, translated
    where it is shown with ``_(constant)``)."""
    return message


def in_language(message: str, lang: Language) -> str:
    """``message`` (a marked constant) in ``lang``, whatever the current language."""
    return translations(lang).gettext(message)


# --- dates, times and numbers as people read them ------------------------------------------------


def format_moment(moment: datetime | None, zone: tzinfo) -> str:
    """``moment`` on the wall clock of ``zone``, to the minute: ``15/09/2020 00:00`` in
    Vietnamese, ``2020-09-15 00:00`` in English; empty for None."""
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return local.strftime("%d/%m/%Y %H:%M" if language() == "vi" else "%Y-%m-%d %H:%M")


def format_day(day: date | str) -> str:
    """A calendar day: ``07/09/2020`` in Vietnamese, ``2020-09-07`` in English (an ISO text is
    read first; any other text is shown as it is)."""
    if isinstance(day, str):
        try:
            return format_day(date.fromisoformat(day))
        except ValueError:
            return day
    return day.strftime("%d/%m/%Y" if language() == "vi" else "%Y-%m-%d")


def format_decimal(value: float) -> str:
    """``93.8`` in English, ``93,8`` in Vietnamese (the decimal comma)."""
    text = f"{value:g}"
    return text.replace(".", ",") if language() == "vi" else text


def format_span(delta: timedelta | None) -> str:
    """How long, in days and hours: ``3d 04h``; ``3 ngày 04 giờ`` in Vietnamese."""
    if delta is None:
        return ""
    hours = int(delta.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    return _("{days}d {hours:02d}h", days=days, hours=hours)


def machine_zone() -> tzinfo:
    """This machine's time zone: ``TZ`` when it names an IANA zone, else ``/etc/localtime``,
    else the offset the C library reports now."""
    name = os.environ.get("TZ", "").lstrip(":")
    candidates = [name] if name else []
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for candidate in candidates:
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return datetime.now().astimezone().tzinfo or UTC


def zone_name(zone: tzinfo) -> str:
    """``Asia/Ho_Chi_Minh`` for an IANA zone, else what the zone calls itself now (``UTC``)."""
    return getattr(zone, "key", None) or zone.tzname(datetime.now(UTC)) or "UTC"


def start_of_day(day: date, zone: tzinfo) -> datetime:
    """Midnight at the start of ``day`` on the wall clock of ``zone``, in UTC: a bare date given
    to a filter (``--since 2024-05-01``) means this, not midnight UTC."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
