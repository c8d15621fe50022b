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
