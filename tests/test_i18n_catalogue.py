"""The catalogue: every message of the library and the CLI has its Vietnamese translation, with
the same fields, compiled into the catalogue that ships (docs/translations.md says how to add a
message).

The messages are extracted afresh from the sources with Babel, as `make i18n-extract` does, so a
message marked in the code but never put in the catalogue fails here, not in front of a user.
"""

from __future__ import annotations

import gettext
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from workflow.i18n import DOMAIN, LOCALE_DIR, translations, use_language

ROOT = Path(__file__).resolve().parents[1]
PO = LOCALE_DIR / "vi" / "LC_MESSAGES" / f"{DOMAIN}.po"
MO = PO.with_suffix(".mo")


def _extracted() -> dict[str, str]:
    """Every message marked in src/workflow (the console's templates included) and cli/, and
    every help text of the CLI, as `make i18n-extract` finds them (and where the first of each
    is)."""
    found: dict[str, str] = {}
    for folder in (ROOT / "src" / "workflow", ROOT / "cli"):
        for filename, line, message, _comments, _context in extract_from_dir(
            folder,
            # the web console's templates mark their words _() too (pyproject's [tool.babel])
            method_map=[
                ("**.py", "cli.babel_help:extract"),
                ("**/web/templates/**.html", "jinja2"),
            ],
            keywords=DEFAULT_KEYWORDS,
        ):
            for text in message if isinstance(message, tuple) else (message,):
                if text:
                    found.setdefault(text, f"{folder.name}/{filename}:{line}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[str, str]:
    return _extracted()


@pytest.fixture(scope="module")
def catalogue():
    with PO.open("rb") as po:
        return read_po(po, locale="vi")


def _translation(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_message_has_a_vietnamese_translation(extracted, catalogue):
    translated = {}
    for message in catalogue:
        if message.id and all(_translation(message)) and "fuzzy" not in message.flags:
            for text in message.id if isinstance(message.id, tuple) else (message.id,):
                translated[text] = message
    missing = {text: where for text, where in extracted.items() if text not in translated}
    assert not missing, (
        "messages without a Vietnamese translation (run `make i18n`, translate them in "
        f"{PO.relative_to(ROOT)}): {missing}"
    )


def test_a_translation_keeps_the_fields_of_its_message(catalogue):
    wrong = {}
    for message in catalogue:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        for text in _translation(message):
            if _fields(text) != _fields(source):
                wrong[source] = text
    assert not wrong


def test_the_shipped_catalogue_is_compiled_from_the_translations(catalogue):
    with MO.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = {}
    for message in catalogue:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            got = compiled.ngettext(message.id[0], message.id[1], 1)
        else:
            got = compiled.gettext(message.id)
        if got != _translation(message)[0]:
            stale[message.id] = got
    assert not stale, "run `make i18n-compile`"


def test_english_is_the_messages_as_written_and_vietnamese_the_catalogue():
    with use_language("en"):
        assert translations("en").gettext("overdue") == "overdue"
    assert translations("vi").gettext("overdue") == "quá hạn"


def test_no_message_is_built_from_an_fstring_inside_the_marker():
    """``_(f"...")`` would be looked up already filled in and never found: fields are named."""
    marked_fstring = re.compile(r"""\b(?:_|ngettext|N_)\(\s*f["']""")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in (ROOT / "src" / "workflow", ROOT / "cli")
        for path in folder.rglob("*.py")
        if marked_fstring.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
