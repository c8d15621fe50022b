"""Pages and downloads are not stored by browsers or proxies, and every CSV the
registry writes neutralises formulas with one function (issue 16, item 4)."""

import io

import pytest
from django.core.management import call_command

from branches.models import Branch
from pacnam.io.csv_writer import FORMULA_STARTS, csv_chunks, neutralise


def assert_not_stored(response):
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= directives, response["Cache-Control"]
    assert not any(d.startswith("max-age=") and d != "max-age=0" for d in directives)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/members/",
        "/members/{member}/",
        "/members/export.csv",
        "/members/export.xlsx",
        "/branches/{branch}/",
        "/charts/age.svg",
        "/members/999999/",
    ],
)
@pytest.mark.parametrize("role", ["district", "secretary", "branch_secretary", "admin", "outsider"])
def test_every_response_to_a_signed_in_user_is_not_stored(world, login, role, path):
    client = login(getattr(world, role))
    response = client.get(path.format(member=world.member.pk, branch=world.branch.pk))
    assert response.status_code in (200, 404)
    assert_not_stored(response)


def test_anonymous_pages_and_redirects_are_not_stored_either(client):
    assert_not_stored(client.get("/accounts/login/"))
    assert_not_stored(client.get("/members/"))  # the redirect to the login page


def test_static_files_keep_their_own_caching(client):
    response = client.get("/static/css/registry.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


# --- Formulas in CSV ---


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_neutralise_quotes_every_formula_start_once(start):
    text = f'{start}HYPERLINK("http://x")'
    assert neutralise(text) == "'" + text
    assert neutralise(neutralise(text)) == "'" + text
    assert neutralise("Cốc Lải") == "Cốc Lải" and neutralise(-5) == -5 and neutralise(None) is None
    # The CSV writers neutralise every cell themselves (quoted by csv where needed).
    assert "".join(csv_chunks([[text, 3]])).lstrip('"').startswith("'" + start)


def test_meeting_report_neutralises_a_formula_in_a_branch_code(world):
    Branch.objects.filter(pk=world.branch.pk).update(
        code='=HYPERLINK("x")'
    )  # 20 characters at most
    out = io.StringIO()
    call_command("meeting_report", "--month", "2019-05", "--commune", "01885", stdout=out)
    lines = out.getvalue().splitlines()
    assert """01885,"'=HYPERLINK(""x"")",0,""" in lines
    assert not any(",=" in line or line.startswith("=") for line in lines)


def test_growth_report_goes_through_the_neutralising_writer(world, monkeypatch):
    # Commune codes are five digits (a constraint): a hostile row stands in for a future text column.
    from members.management.commands import growth_report

    monkeypatch.setattr(
        growth_report, "growth_rows", lambda year, communes: [{"commune_code": "@SUM(1)"}]
    )
    out = io.StringIO()
    call_command("growth_report", "--year", "2019", stdout=out)
    assert out.getvalue().splitlines()[1].startswith("'@SUM(1),")
