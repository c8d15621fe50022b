"""The Vietnamese catalogues are complete: every string of the interface has a
translation and none is a fuzzy guess (issue 2: "translations complete")."""

import pathlib

import polib
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CATALOGUES = sorted(ROOT.glob("*/locale/vi/LC_MESSAGES/django.po"))


def test_every_app_has_a_vietnamese_catalogue():
    apps = {path.parts[-5] for path in CATALOGUES}
    assert {"pacnam", "branches", "members", "meetings"} <= apps


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parts[-5])
def test_catalogue_is_complete(path):
    catalogue = polib.pofile(str(path))
    untranslated = [e.msgid for e in catalogue.untranslated_entries()]
    fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
    assert not untranslated, f"untranslated in {path}: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy in {path}: {fuzzy[:10]}"


# --- One catalogue entry per string, each used, each reaching the screen (issue 17) ---


def _entries():
    for path in CATALOGUES:
        for entry in polib.pofile(str(path)):
            if not entry.obsolete:
                yield path.parts[-5], entry


def _django_msgids() -> set[tuple[str | None, str]]:
    """The strings of Django and the installed libraries: the project's catalogues
    may translate them again (the admin's English left untranslated in Django's
    Vietnamese, the select placeholder). Read from one catalogue per package and
    domain: Django's English ones hold every string; the libraries have none, so
    all of theirs."""
    import django

    keys = set()
    for package in (django, __import__("axes"), __import__("simple_history")):
        root = pathlib.Path(package.__file__).parent
        for locale_dir in {
            p.parent.parent.parent for p in root.rglob("locale/*/LC_MESSAGES/django.po")
        }:
            english = locale_dir / "en" / "LC_MESSAGES" / "django.po"
            paths = [english] if english.exists() else locale_dir.glob("*/LC_MESSAGES/django.po")
            for path in paths:
                keys.update((e.msgctxt, e.msgid) for e in polib.pofile(str(path)))
    return keys


def test_every_string_of_the_interface_is_in_a_catalogue():
    from tests.i18n import used_messages

    known = {(e.msgctxt, e.msgid) for _app, e in _entries()}
    missing = {key: where for key, where in used_messages().items() if key not in known}
    assert not missing, f"not translated: {missing}"


def test_one_entry_per_string_across_the_project():
    """Django merges the catalogues into one, so a string in two of them shows one
    of the two translations, whichever app comes first: one entry each."""
    seen: dict = {}
    for app, entry in _entries():
        seen.setdefault((entry.msgctxt, entry.msgid), []).append(app)
    twice = {key: apps for key, apps in seen.items() if len(apps) > 1}
    assert not twice, twice


def test_no_entry_is_left_unused():
    from tests.i18n import used_messages

    used = set(used_messages())
    django_keys = _django_msgids()
    stale = [
        (app, e.msgid) for app, e in _entries() if (e.msgctxt, e.msgid) not in used | django_keys
    ]
    assert not stale, stale


def test_what_the_catalogue_says_reaches_the_screen():
    """The project's wording wins over Django's and the libraries' (its apps come
    first in INSTALLED_APPS): "active" was shown as Django auth's "Kích hoạt"."""
    from django.utils import translation

    wrong = []
    with translation.override("vi"):
        for app, entry in _entries():
            if entry.msgid_plural:
                expected = entry.msgstr_plural[0]
                if entry.msgctxt:
                    shown = translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 1)
                else:
                    shown = translation.ngettext(entry.msgid, entry.msgid_plural, 1)
            else:
                expected = entry.msgstr
                if entry.msgctxt:
                    shown = translation.pgettext(entry.msgctxt, entry.msgid)
                else:
                    shown = translation.gettext(entry.msgid)
            if shown != expected:
                wrong.append((app, entry.msgid, expected, shown))
    assert not wrong, wrong


# Words shown as values, capitalised in Vietnamese whatever the English does:
# "Giới tính: Nam", and the chart's legend "Dân tộc khác"; and a step of a list in
# lower case whose English begins with the Party's capital.
CAPITALISED_IN_VIETNAMESE = {"male", "female", "others", "Party-awareness class certificate"}


def test_a_translation_starts_as_its_english_does():
    """A label set in code ("Party card number") reaches the page as written, so
    "số thẻ đảng viên" showed in lower case where a capital was meant."""
    wrong = []
    for app, entry in _entries():
        text = entry.msgstr or entry.msgstr_plural.get(0, "")
        english, vietnamese = entry.msgid.lstrip(" “'\"(…-"), text.lstrip(" “'\"(…-")
        if not (english and vietnamese and english[0].isalpha() and vietnamese[0].isalpha()):
            continue
        if (
            english[0].isupper() != vietnamese[0].isupper()
            and entry.msgid not in CAPITALISED_IN_VIETNAMESE
        ):
            wrong.append((app, entry.msgid, text))
    assert not wrong, wrong
