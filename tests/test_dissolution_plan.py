"""The dissolution plan as an officer needs it (issue 17): every member's
destination can be changed, the choices are the commune's village branches (the
one where the member lives on top) and others on request but never an office
branch, and the undo asks first, naming how many members it moves back."""

import datetime
import re

import pytest
from django.urls import reverse

from branches.models import BranchKind
from members.models import DissolutionBatch, Membership
from members.services.dissolutions import branch_dissolve
from tests.conftest import ROLES, make_branch, make_member, make_village

APRIL = datetime.date(2019, 4, 1)


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def places(world):
    """Another village branch and a school in Cao Tân; Giáo Hiệu's office branch."""
    world.school = make_branch(world.commune, kind=BranchKind.SCHOOL, name="Chi bộ Trường Cao Tân")
    world.other_office = make_branch(
        world.other_commune, kind=BranchKind.COMMUNE_OFFICE, name="Chi bộ cơ quan xã Giáo Hiệu"
    )
    return world


def _select(page: str, member) -> str:
    match = re.search(rf'<select name="assign-{member.pk}".*?</select>', page, re.S)
    assert match, f"no select for {member}"
    return match.group(0)


def _options(select: str) -> list[str]:
    return re.findall(r"<option[^>]*>([^<]*)</option>", select)


def test_every_member_has_a_select_starting_on_the_proposal(places, login):
    w = places
    page = login(w.secretary).get(reverse("transfers:dissolution_plan", args=[w.office.pk])).text
    select = _select(page, w.cadre)  # Lý Thị Huyền lives in Cốc Lải
    options = _options(select)
    # The branch of the village where she lives is on top, and chosen.
    assert options[0].startswith(w.branch.name) and "nơi cư trú" in options[0]
    assert re.search(rf'<option value="{w.branch.pk}" selected>', select)
    # The commune's other village branch is offered; schools, other communes and
    # office branches are not (until asked for, and offices never).
    assert w.branch2.label in options
    assert not any(
        w.school.name in o or w.other_branch.name in o or "cơ quan" in o for o in options
    )
    assert "cần quyết định" not in select  # she has a proposal


def test_all_branches_on_request_but_never_an_office(places, login):
    w = places
    url = reverse("transfers:dissolution_plan", args=[w.office.pk])
    page = login(w.district).get(url, {"all": "1", "decision": "15-QĐ/ĐU"}).text
    options = _options(_select(page, w.cadre))
    assert any(w.school.name in o for o in options)
    assert any(w.other_branch.name in o and "Giáo Hiệu" in o for o in options)
    assert not any("cơ quan" in o for o in options)
    assert 'value="15-QĐ/ĐU"' in page  # what was typed is kept
    # A commune secretary is offered only their own commune's branches.
    page = login(w.secretary).get(url, {"all": "1"}).text
    options = _options(_select(page, w.cadre))
    assert any(w.school.name in o for o in options)
    assert not any(w.other_branch.name in o for o in options)


def test_a_changed_proposal_is_the_one_applied(places, login):
    w = places
    client = login(w.secretary)
    params = {
        "review": "1",
        "decision": "15-QĐ/ĐU",
        "on": "01/04/2019",
        f"assign-{w.cadre.pk}": w.branch2.pk,
    }
    page = client.get(reverse("transfers:dissolution_plan", args=[w.office.pk]), params).text
    assert "Xác nhận giải thể" in page
    posted = {k: v for k, v in params.items() if k != "review"}
    client.post(reverse("transfers:dissolution_confirm", args=[w.office.pk]), posted)
    batch = DissolutionBatch.objects.get()
    move = batch.moves.get(member=w.cadre)
    assert move.to_branch == w.branch2 and move.decided_by_person
    assert Membership.objects.get(member=w.cadre, ended_on__isnull=True).branch == w.branch2


def test_an_office_branch_cannot_be_slipped_in(places, login):
    w = places
    params = {"decision": "15", "on": "01/04/2019", f"assign-{w.cadre.pk}": w.other_office.pk}
    login(w.district).post(reverse("transfers:dissolution_confirm", args=[w.office.pk]), params)
    assert not DissolutionBatch.objects.exists()


def test_the_plan_page_has_a_fixed_number_of_queries(places, login, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(places.district)
    url = reverse("transfers:dissolution_plan", args=[places.office.pk])
    for params in ({}, {"all": "1"}):
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, params)
        before = len(ctx.captured_queries)
        for i in range(3):
            village = make_village(places.commune, f"Bản Mới {i}")
            make_branch(places.commune, village=village)
            make_member(places.office, village=village, name=f"Cán Bộ {i}", is_commune_cadre=True)
        with django_assert_num_queries(before):
            assert client.get(url, params).status_code == 200


@pytest.fixture
def batch(world):
    make_member(world.office, village=world.village2, name="Nông Văn Hai", is_commune_cadre=True)
    return branch_dissolve(branch=world.office, decision="15-QĐ/ĐU", on=APRIL, by=world.secretary)


# The undo's confirmation page: officers only; the secretary sees the batch but
# may not undo it (403); the branch secretary and outsiders do not see it (404).
UNDO_PAGE = {
    "admin": 200,
    "district": 200,
    "secretary": 403,
    "branch_secretary": 404,
    "outsider": 404,
    "nobody": 404,
    "anonymous": 302,
}


@pytest.mark.parametrize("role", ROLES)
def test_the_undo_asks_first_per_role(world, login, batch, role):
    client = login(None if role == "anonymous" else getattr(world, role))
    response = client.get(reverse("transfers:dissolution_undo", args=[batch.pk]))
    assert response.status_code == UNDO_PAGE[role]
    batch.refresh_from_db()
    assert not batch.is_undone  # asking changes nothing
    if response.status_code == 200:
        assert "2 đảng viên" in response.text and world.office.name in response.text


def test_the_detail_page_links_the_question_not_the_undo(world, login, batch):
    page = login(world.district).get(reverse("transfers:dissolution_detail", args=[batch.pk])).text
    url = reverse("transfers:dissolution_undo", args=[batch.pk])
    assert f'href="{url}"' in page
    assert f'action="{url}"' not in page


def test_the_undo_page_has_a_fixed_number_of_queries(
    world, login, batch, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(world.district)
    url = reverse("transfers:dissolution_undo", args=[batch.pk])
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    other = make_branch(world.commune, kind=BranchKind.COMMUNE_OFFICE, name="Chi bộ cơ quan 2")
    for i in range(5):
        make_member(other, village=world.village, name=f"Cán Bộ {i}")
    bigger = branch_dissolve(branch=other, decision="16", on=APRIL, by=world.secretary)
    with django_assert_num_queries(len(ctx.captured_queries)):
        assert (
            "5 đảng viên"
            in client.get(reverse("transfers:dissolution_undo", args=[bigger.pk])).text
        )
