"""The console's words in Vietnamese (the default) and English (the source language).

Templates and handlers write English and mark it ``_("...")`` (``N_`` for a constant), as the
rest of the package does; the Vietnamese is in the package's one gettext catalogue
(``workflow/locale/vi/LC_MESSAGES/workflow.po``, docs/translations.md), which Babel extracts
from the templates too. A page's language is the viewer's choice, not the process's, so the
console translates with :func:`translator` for the request's language.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from workflow.i18n import N_, in_language

STATUS_LABELS = {
    "done": N_("done on time"),
    "done_late": N_("done late"),
    "open": N_("in progress"),
    "overdue": N_("overdue"),
}
"""The report's statuses as the pages name them."""


def translator(lang: str) -> Callable[[str], str]:
    """``_(message)``: the message in ``lang`` (English as written, else the catalogue's)."""
    return partial(in_language, lang="en" if lang == "en" else "vi")
