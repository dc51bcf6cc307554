"""The Ukrainian and Russian catalogs: complete, compiled, current with the source, and used at run time."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import polib
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

import forewarn
from forewarn.core.errors import ValidationFailed
from forewarn.customers.normalize import normalize_email
from forewarn.shell.context_processors import SECTIONS

PACKAGE = Path(forewarn.__file__).resolve().parent
LOCALE = PACKAGE / "locale"
LANGUAGES = ["uk", "ru"]
# The standard gettext rule for both languages: one (1, 21, 101), few (2-4, 22-24), many (0, 5-20, 25...).
PLURAL_FORMS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"
)
# What ``makemessages`` is run with (from src/forewarn): the tests' own strings are not for people.
IGNORE = ["tests/*", "*/tests/*"]
# printf-style placeholders, named (%(n)d) or positional (%s); %% is a literal percent sign.
PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")
BRACES = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
TYPOGRAPHIC_QUOTES = re.compile("[“”]")


def _po(language: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


def _mo(language: str) -> polib.MOFile:
    return polib.mofile(str(LOCALE / language / "LC_MESSAGES" / "django.mo"))


def _live(catalog: Any) -> list[Any]:
    return [e for e in catalog if e.msgid and not getattr(e, "obsolete", False)]


def _key(entry: Any) -> tuple[str | None, str, str]:
    return (entry.msgctxt, entry.msgid, entry.msgid_plural or "")


def _placeholders(text: str) -> Counter[str]:
    """Named placeholders count once however often they appear; positional ones count each time."""
    found = PRINTF.findall(text) + BRACES.findall(text)
    named = {p for p in found if p.startswith(("%(", "{"))}
    return Counter(named) + Counter(p for p in found if p not in named)


def _translations(entry: polib.POEntry) -> list[tuple[str, str]]:
    """(source, translation) pairs. Every plural form answers to the plural msgid: in Ukrainian and
    Russian the first form also stands for 21, 31..., so it needs the count even when English does not."""
    if entry.msgid_plural:
        return [(entry.msgid_plural, text) for _i, text in sorted(entry.msgstr_plural.items())]
    return [(entry.msgid, entry.msgstr)]


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_header_names_the_language_and_its_plural_rule(language: str) -> None:
    po = _po(language)
    assert po.metadata["Language"] == language
    assert po.metadata["Plural-Forms"] == PLURAL_FORMS
    assert po.metadata["Content-Type"] == "text/plain; charset=UTF-8"
    assert not po.metadata_is_fuzzy


def test_every_entry_is_translated_and_none_is_fuzzy(language: str) -> None:
    po = _po(language)
    assert _live(po), "the catalog is empty"
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert untranslated == []
    assert fuzzy == []
    assert [e.msgid for e in po.obsolete_entries()] == []


def test_plural_entries_fill_all_three_forms(language: str) -> None:
    plurals = [e for e in _live(_po(language)) if e.msgid_plural]
    for entry in plurals:
        assert sorted(entry.msgstr_plural) == [0, 1, 2], entry.msgid
        assert all(text.strip() for text in entry.msgstr_plural.values()), entry.msgid


def test_translations_keep_every_placeholder(language: str) -> None:
    wrong = []
    for entry in _live(_po(language)):
        for source, text in _translations(entry):
            if _placeholders(source) != _placeholders(text):
                wrong.append((entry.msgid, text))
    assert wrong == []


def test_typographic_quotes_become_guillemets(language: str) -> None:
    wrong = [
        entry.msgid
        for entry in _live(_po(language))
        for _source, text in _translations(entry)
        if TYPOGRAPHIC_QUOTES.search(text)
    ]
    assert wrong == []


def test_both_languages_translate_the_same_messages() -> None:
    uk, ru = ({_key(e) for e in _live(_po(lang))} for lang in LANGUAGES)
    assert uk == ru


def test_the_compiled_catalog_matches_its_source(language: str) -> None:
    """The .mo files are kept in the repository; they must say what the .po files say."""
    po, mo = _po(language), _mo(language)
    assert mo.metadata.get("Plural-Forms") == po.metadata["Plural-Forms"]
    expected = {_key(e): (e.msgstr, dict(e.msgstr_plural)) for e in po.translated_entries() if not e.obsolete}
    compiled = {_key(e): (e.msgstr, dict(e.msgstr_plural)) for e in _live(mo)}
    assert compiled == expected, "run `django-admin compilemessages` in src/forewarn"


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("xgettext", "msgmerge", "msguniq")),
    reason="GNU gettext is not installed",
)
def test_the_catalogs_hold_every_message_the_source_marks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Extract afresh from a copy of the package (so the real catalogs are never touched) and compare."""
    copy = tmp_path / "forewarn"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("locale", "__pycache__", "*.mo", "*.po"))
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[str(copy / "locale")]):
        call_command("makemessages", locale=["uk"], ignore_patterns=IGNORE, no_obsolete=True, verbosity=0)
    fresh = {_key(e) for e in _live(polib.pofile(str(copy / "locale" / "uk" / "LC_MESSAGES" / "django.po")))}
    assert fresh, "the extraction found nothing"
    for language in LANGUAGES:
        kept = {_key(e) for e in _live(_po(language))}
        hint = "run `django-admin makemessages -l uk -l ru` in src/forewarn and translate"
        assert sorted(fresh - kept, key=str) == [], f"{language}: new messages; {hint}"
        assert sorted(kept - fresh, key=str) == [], f"{language}: stale messages; {hint}"


def test_each_app_has_its_strings_in_the_catalog(language: str) -> None:
    msgids = {e.msgid for e in _live(_po(language))}
    assert {
        "Staff and access",  # accounts
        "Sign in",  # accounts templates
        "Some fields are not valid.",  # core
        "Customers",  # core navigation and customers
        "“%(v)s” is not a valid email address.",  # customers
        "%(counter)s customer",  # customers templates, plural
    } <= msgids


@pytest.mark.parametrize(
    ("language", "customers"), [("uk", "Клієнти"), ("ru", "Клиенты"), ("en", "Customers")]
)
def test_the_navigation_speaks_the_active_language(language: str, customers: str) -> None:
    label = next(label for key, label, _name, _perm in SECTIONS if key == "customers")
    with translation.override(language):
        assert str(label) == customers


def test_validation_errors_are_translated_with_the_value_in_guillemets(language: str) -> None:
    template = next(e.msgstr for e in _po(language) if e.msgid == "“%(v)s” is not a valid email address.")
    with translation.override(language), pytest.raises(ValidationFailed) as caught:
        normalize_email("maria at example")
    message = caught.value.fields[0].message
    assert message == template % {"v": "maria at example"}
    assert "«maria at example»" in message


@pytest.mark.parametrize(
    ("language", "forms"),
    [
        ("uk", {1: "1 клієнт", 3: "3 клієнти", 5: "5 клієнтів", 11: "11 клієнтів", 21: "21 клієнт"}),
        ("ru", {1: "1 клиент", 3: "3 клиента", 5: "5 клиентов", 11: "11 клиентов", 21: "21 клиент"}),
    ],
)
def test_counts_take_the_right_plural_form(language: str, forms: dict[int, str]) -> None:
    with translation.override(language):
        for n, expected in forms.items():
            text = translation.ngettext("%(counter)s customer", "%(counter)s customers", n)
            assert text % {"counter": n} == expected


@pytest.mark.parametrize(
    ("language", "imported", "merged"),
    [("uk", "імпорт", "об’єднання"), ("ru", "импорт", "объединение"), ("en", "import", "merge")],
)
def test_stored_sources_are_put_into_words_when_shown(language: str, imported: str, merged: str) -> None:
    from forewarn.core.vocab import Source

    with translation.override(language):
        assert (Source.describe("import"), Source.describe("merge")) == (imported, merged)
        # A caller's own code is shown as it came.
        assert Source.describe("pos-terminal") == "pos-terminal"
