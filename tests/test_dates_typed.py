"""Dates are typed and shown as dd/mm/yyyy whatever the interface language or the
browser's (issue 17): every date field of every form, the admin's included,
reads 05/04/2019 as 5 April 2019 (and 2019-04-05 too), never as 4 May; no page
has a native date, month or time input, whose order follows the browser."""

import datetime
import importlib
import pathlib
import pkgutil
import re

import pytest
from django import forms
from django.contrib import admin
from django.test import RequestFactory
from django.utils import translation

from pacnam.lib.dates import parse_day, parse_month
from pacnam.lib.forms import DateField, DateInput

ROOT = pathlib.Path(__file__).resolve().parent.parent
APPS = ["pacnam", "branches", "members", "meetings", "overview"]
APRIL_5 = datetime.date(2019, 4, 5)


def _project_form_classes():
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if (
                ".migrations" in info.name
                or ".management" in info.name
                or info.name.endswith("settings")
            ):
                continue
            importlib.import_module(info.name)
    seen, stack = set(), [forms.BaseForm]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    # The admin's forms keep the admin's date widget (with its calendar): they are
    # checked through the admin below.
    return sorted(
        (
            c
            for c in seen
            if c.__module__.split(".")[0] in APPS and not c.__module__.endswith(".admin")
        ),
        key=lambda c: c.__qualname__,
    )


FORM_CLASSES = _project_form_classes()


def test_the_project_has_forms_with_dates():
    with_dates = [
        c
        for c in FORM_CLASSES
        if any(isinstance(f, forms.DateField) for f in c.base_fields.values())
    ]
    assert len(with_dates) >= 10


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize(
    "form_class", FORM_CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}"
)
def test_every_date_field_reads_day_first(form_class, language):
    with translation.override(language):
        for name, field in form_class.base_fields.items():
            if not isinstance(field, forms.DateField):
                continue
            assert isinstance(field, DateField), f"{name}: not the registry's date field"
            assert isinstance(field.widget, DateInput), f"{name}: not the registry's date widget"
            assert field.widget.input_type == "text"
            assert field.clean("05/04/2019") == APRIL_5, name
            assert field.clean("2019-04-05") == APRIL_5, name
            with pytest.raises(forms.ValidationError):
                field.clean("04/25/2019")  # month first is refused, not guessed
            assert "05/04/2019" in field.widget.render(name, APRIL_5)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_admin_form_reads_day_first(db, admin_user, language):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    checked = 0
    with translation.override(language):
        for model, model_admin in admin.site._registry.items():
            form_class = model_admin.get_form(request)
            for name, field in form_class.base_fields.items():
                if isinstance(field, forms.DateField) and not isinstance(
                    field, forms.DateTimeField
                ):
                    assert field.clean("05/04/2019") == APRIL_5, (model, name)
                    assert "05/04/2019" in field.widget.render(name, APRIL_5), (model, name)
                    checked += 1
    assert checked >= 5


def test_no_template_has_a_native_date_input():
    native = re.compile(r"""type=["']?(date|month|time|datetime-local)\b""")
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.html")
        if native.search(path.read_text())
    ]
    assert not offenders


def test_parse_day_and_month():
    assert parse_day("05/04/2019") == APRIL_5
    assert parse_day(" 2019-04-05 ") == APRIL_5
    assert parse_day("04/25/2019") is None
    assert parse_day("") is None
    assert parse_month("04/2019") == datetime.date(2019, 4, 1)
    assert parse_month("2019-04") == datetime.date(2019, 4, 1)
    assert parse_month("13/2019") is None


def test_the_branch_roster_date_is_typed_day_first(world, login):
    from django.urls import reverse

    url = reverse("places:branch", args=[world.branch.pk])
    page = login(world.district).get(url + "?as_of=05/04/2019").content.decode()
    assert "05/04/2019" in page
    assert 'value="05/04/2019"' in page
