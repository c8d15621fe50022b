"""The pages of issue 5: dashboard, commune, branch, village, member list and page, forms."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import Member
from members.services.members import membership_move
from tests.conftest import make_member

D = datetime.date


def _get(login, user, url):
    return login(user).get(url)


@pytest.mark.parametrize(
    "who, status",
    [
        ("admin", 200),
        ("district", 200),
        ("secretary", 200),
        ("branch_secretary", 404),
        ("outsider", 404),
        ("nobody", 404),
    ],
)
def test_commune_page_per_role(world, login, who, status):
    response = _get(login, getattr(world, who), f"/communes/{world.commune.code}/")
    assert response.status_code == status
    if status == 200:
        assert "Chi bộ thôn Cốc Lải" in response.content.decode()


@pytest.mark.parametrize(
    "who, status",
    [
        ("admin", 200),
        ("district", 200),
        ("secretary", 200),
        ("branch_secretary", 200),
        ("outsider", 404),
        ("nobody", 404),
    ],
)
def test_branch_page_per_role(world, login, who, status):
    response = _get(login, getattr(world, who), f"/branches/{world.branch.pk}/")
    assert response.status_code == status
    if status == 200:
        assert world.member.full_name in response.content.decode()


def test_pages_send_anonymous_users_to_login(world, client):
    for url in [
        "/",
        f"/communes/{world.commune.code}/",
        f"/branches/{world.branch.pk}/",
        f"/villages/{world.village.pk}/",
        "/members/",
        f"/members/{world.member.pk}/",
        "/members/new/",
        "/charts/age.svg",
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


def test_branch_page_shows_the_roster_on_a_past_date(world, login):
    mover = make_member(world.branch, name="Đinh Văn Chuyển", since=D(2010, 1, 1))
    membership_move(member=mover, to_branch=world.branch2, on=D(2019, 4, 1))
    client = login(world.district)
    roster, past = _roster_and_past(client.get(f"/branches/{world.branch.pk}/").content.decode())
    # Today the mover is among the past members, with when and why.
    assert "Đinh Văn Chuyển" not in roster
    assert "Đinh Văn Chuyển" in past and "01/04/2019" in past
    roster, past = _roster_and_past(
        client.get(f"/branches/{world.branch.pk}/?as_of=2019-03-31").content.decode()
    )
    assert "Đinh Văn Chuyển" in roster
    assert "Đinh Văn Chuyển" not in past


def _roster_and_past(html: str) -> tuple[str, str]:
    start = html.index('id="roster"')
    past = html.index('id="past"')
    end = html.index('class="card audit"')
    return html[start:past], html[past:end]


def test_an_unreadable_as_of_date_is_a_message_not_an_error(world, login):
    response = login(world.district).get(
        f"/branches/{world.branch.pk}/?as_of=31-13-2019", follow=True
    )
    assert response.status_code == 200
    assert "dd/mm/yyyy" in response.content.decode()


def test_branch_page_query_count_does_not_grow_with_the_roster(world, login):
    client = login(world.district)
    client.get("/")  # the session is in place
    baseline = _count(client, f"/branches/{world.branch.pk}/")
    for i in range(15):
        make_member(world.branch, name=f"Người Mới {i}")
    moved = make_member(world.branch, name="Người Đi")
    membership_move(member=moved, to_branch=world.branch2, on=D(2020, 1, 1))
    assert _count(client, f"/branches/{world.branch.pk}/") == baseline


def _count(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/members/",
        "/members/?q=van",
        "COMMUNE",
        "VILLAGE",
        "MEMBER",
    ],
)
def test_every_page_has_a_fixed_number_of_queries(world, login, url):
    def resolve(u):
        return {
            "COMMUNE": f"/communes/{world.commune.code}/",
            "VILLAGE": f"/villages/{world.village.pk}/",
            "MEMBER": f"/members/{world.member.pk}/",
        }.get(u, u)

    client = login(world.district)
    client.get("/")
    small = _count(client, resolve(url))
    for i in range(12):
        make_member(world.branch, name=f"Nguyễn Văn Số {i}")
        make_member(
            world.office,
            village=world.village,
            name=f"Nguyễn Thị Cán Bộ {i}",
            is_commune_cadre=True,
        )
    assert _count(client, resolve(url)) == small


def test_member_search_ignores_accents(world, login):
    response = login(world.district).get("/members/?q=ly thi huyen")
    html = response.content.decode()
    assert "Lý Thị Huyền" in html
    assert "Hoàng Văn Mạnh" not in html


def test_member_search_by_citizen_id(world, login):
    response = login(world.district).get(f"/members/?q={world.member.citizen_id}")
    assert world.member.full_name in response.content.decode()


def test_member_list_is_scoped(world, login):
    html = login(world.outsider).get("/members/").content.decode()
    assert world.other_member.full_name in html
    assert world.member.full_name not in html


def test_member_list_refuses_a_commune_slipped_into_the_query(world, login):
    html = login(world.outsider).get(f"/members/?commune={world.commune.code}").content.decode()
    assert world.member.full_name not in html


def test_member_list_filters(world, login):
    client = login(world.district)
    html = client.get("/members/?cadre=yes").content.decode()
    assert "Lý Thị Huyền" in html and "Hoàng Văn Mạnh" not in html
    html = client.get(f"/members/?branch={world.branch.pk}").content.decode()
    assert "Hoàng Văn Mạnh" in html and "Lý Thị Huyền" not in html


def test_member_list_is_paginated(world, login):
    for i in range(55):
        make_member(world.branch, name=f"Ma Văn {i:02d}")
    html = login(world.district).get("/members/?q=ma van").content.decode()
    assert html.count("Ma Văn ") == 50
    assert "page=2" in html


@pytest.mark.parametrize(
    "who, status",
    [
        ("admin", 200),
        ("district", 200),
        ("secretary", 200),
        ("branch_secretary", 200),
        ("outsider", 404),
        ("nobody", 404),
    ],
)
def test_member_page_per_role(world, login, who, status):
    response = _get(login, getattr(world, who), f"/members/{world.member.pk}/")
    assert response.status_code == status


@pytest.mark.parametrize(
    "who, status",
    [
        ("admin", 200),
        ("district", 200),
        ("secretary", 200),
        ("branch_secretary", 403),
        ("outsider", 404),
        ("nobody", 404),
    ],
)
def test_member_edit_form_per_role(world, login, who, status):
    response = _get(login, getattr(world, who), f"/members/{world.member.pk}/edit/")
    assert response.status_code == status


def _member_post(world, **overrides):
    data = {
        "citizen_id": "001234567890",
        "full_name": "Nông Thị Mới",
        "gender": "female",
        "birth_date": "1990-02-03",
        "ethnicity": "Nùng",
        "residence_village": world.village.pk,
        "position": "",
        "admitted_on": "2015-05-19",
        "full_on": "2016-05-19",
        "card_number": "",
        "branch": world.branch.pk,
        "since": "",
    }
    data.update(overrides)
    return data


def test_commune_secretary_adds_a_member(world, login):
    response = login(world.secretary).post("/members/new/", _member_post(world))
    member = Member.objects.get(citizen_id="001234567890")
    assert response.status_code == 302
    assert member.branch == world.branch
    assert member.memberships.get().started_on == D(2015, 5, 19)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("citizen_id", "12345", "12"),
        ("admitted_on", "2005-01-01", "18"),
        ("birth_date", "2099-01-01", ""),
        ("full_on", "2010-01-01", ""),
    ],
)
def test_bad_member_input_is_refused_in_vietnamese_and_saves_nothing(
    world, login, field, value, message
):
    response = login(world.secretary).post("/members/new/", _member_post(world, **{field: value}))
    assert response.status_code == 200
    assert not Member.objects.filter(full_name="Nông Thị Mới").exists()
    html = response.content.decode()
    assert 'class="errorlist' in html
    if message:
        assert message in html


def test_a_branch_of_another_commune_slipped_into_the_form_is_refused(world, login):
    response = login(world.secretary).post(
        "/members/new/", _member_post(world, branch=world.other_branch.pk)
    )
    assert response.status_code == 200
    assert not Member.objects.filter(full_name="Nông Thị Mới").exists()


def test_editing_over_someone_elses_change_warns_instead_of_overwriting(world, login):
    client = login(world.secretary)
    opened = world.member.version
    # Someone else saves first.
    other = login(world.district)
    data = _member_post(
        world, citizen_id=world.member.citizen_id, full_name="Hoàng Văn Mạnh (sửa)", version=opened
    )
    del data["branch"], data["since"]
    assert other.post(f"/members/{world.member.pk}/edit/", data).status_code == 302
    client = login(world.secretary)
    data["full_name"] = "Hoàng Văn Mạnh (ghi đè)"
    response = client.post(f"/members/{world.member.pk}/edit/", data)
    assert response.status_code == 200
    world.member.refresh_from_db()
    assert world.member.full_name == "Hoàng Văn Mạnh (sửa)"
    assert "reload" in response.content.decode() or "tải lại" in response.content.decode()


def test_village_page_lists_residents_and_branch(world, login):
    html = login(world.secretary).get(f"/villages/{world.village.pk}/").content.decode()
    assert "Lý Thị Huyền" in html  # lives in Cốc Lải although in the office branch
    assert "Chi bộ thôn Cốc Lải" in html
    assert login(world.outsider).get(f"/villages/{world.village.pk}/").status_code == 404


def test_commune_secretary_edits_a_village_in_their_commune_only(world, login):
    client = login(world.secretary)
    data = {
        "commune": world.commune.pk,
        "code": world.village.code,
        "name": "Cốc Lải",
        "households": 61,
        "population": 301,
        "valid_from": "",
        "valid_to": "",
        "version": world.village.version,
    }
    assert client.post(f"/villages/{world.village.pk}/edit/", data).status_code == 302
    world.village.refresh_from_db()
    assert world.village.households == 61
    data["commune"] = world.other_commune.pk
    response = client.post("/villages/new/", dict(data, code="NEW1"))
    assert response.status_code == 200  # another commune is not a choice
    assert (
        login(world.outsider).post(f"/villages/{world.village.pk}/edit/", data).status_code == 404
    )


def test_a_village_branch_needs_its_village(world, login):
    data = {
        "commune": world.commune.pk,
        "code": "NEWB",
        "name": "Chi bộ mới",
        "kind": "village",
        "village": "",
        "founded_on": "2020-01-01",
    }
    response = login(world.secretary).post("/branches/new/", data)
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()


@pytest.mark.parametrize(
    "name", ["branch_kinds", "age", "gender", "ethnicity", "policy", "meetings"]
)
def test_charts_are_svg_from_our_server(world, login, name):
    response = login(world.secretary).get(reverse("chart", args=[name]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    body = response.content
    assert b"<svg" in body
    assert b"cdn" not in body.lower()


def test_the_district_chart_is_only_for_the_district(world, login):
    assert login(world.district).get("/charts/members_by_commune.svg").status_code == 200
    assert login(world.secretary).get("/charts/members_by_commune.svg").status_code == 404
    assert login(world.nobody).get("/charts/age.svg").status_code == 404


def test_dashboard_figures_follow_the_scope(world, login):
    from branches.access import scope_for
    from overview.selectors.dashboard import member_totals

    # The outsider's commune has one member; the district has three.

    assert member_totals(scope_for(world.outsider))["total"] == 1
    assert member_totals(scope_for(world.district))["total"] == 3
    assert response_ok(login(world.branch_secretary).get("/"))


def response_ok(response) -> bool:
    return response.status_code == 200 and b"tile" in response.content


def test_dashboard_is_in_vietnamese_by_default_and_english_on_request(world, login):
    client = login(world.district)
    assert "đảng viên chính thức" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "full members" in client.get("/").content.decode()


def test_dashboard_counts_members_due_to_become_full(world, login):
    from django.utils import timezone

    from pacnam.lib.dates import add_months

    today = timezone.localdate()
    make_member(
        world.branch, name="Lục Văn Dự Bị", full_on=None, admitted_on=add_months(today, -13)
    )
    response = login(world.secretary).get("/")
    assert response.context["due_full"] == 1
    assert response.context["totals"]["probationary"] == 1


def test_dashboard_shows_this_months_meetings_and_the_transfers_in_progress(world, login):
    """What a newcomer sees first: the meetings held this month and last month and
    the transfers in progress, each for the user's own scope; a planned meeting has
    not been held."""
    from django.utils import timezone

    from meetings.models import Meeting, MeetingStatus
    from members.services.transfers import transfer_request
    from pacnam.lib.dates import add_months

    today = timezone.localdate()
    Meeting.objects.create(branch=world.branch, date=today, status=MeetingStatus.HELD)
    Meeting.objects.create(branch=world.branch2, date=today, status=MeetingStatus.PLANNED)
    last_month = add_months(today.replace(day=1), -1)
    Meeting.objects.create(
        branch=world.other_branch,
        date=last_month,
        status=MeetingStatus.ADOPTED,
        adopted_on=last_month,
    )
    transfer_request(by=world.secretary, member=world.member, to_branch=world.branch2)
    expected = {
        # user: (held this month, held last month, transfers in progress)
        "district": (1, 1, 1),
        "secretary": (1, 0, 1),
        "branch_secretary": (1, 0, 1),
        "outsider": (0, 1, 0),
    }
    for role, figures in expected.items():
        context = login(getattr(world, role)).get("/").context
        assert (
            context["meetings_this_month"],
            context["meetings_last_month"],
            context["transfers_in_progress"],
        ) == figures, role


def test_the_dashboard_shows_the_month_asked_for_or_the_latest_with_data(world, login):
    """Issue 17: the dashboard picks its month, by default the latest month that has
    ended with meetings recorded, so an older registry still shows figures."""
    from meetings.models import Meeting

    Meeting.objects.create(
        branch=world.branch, date=datetime.date(2019, 5, 10), kind="regular", status="held"
    )
    client = login(world.district)
    default = client.get("/").context
    assert default["month"] == datetime.date(2019, 5, 1)
    assert default["meetings_last_month"] == 1
    assert (
        world.branch not in default["no_meeting_branches"]
        and world.branch2 in default["no_meeting_branches"]
    )
    june = client.get("/?month=2019-06").context
    assert june["month"] == datetime.date(2019, 6, 1) and june["meetings_last_month"] == 0
    assert world.branch in june["no_meeting_branches"]
    # A month to come is today's month; a word that is not a month, the default.
    assert client.get("/?month=2999-01").context["month"] == timezone.localdate().replace(day=1)
    assert client.get("/?month=mai").context["month"] == datetime.date(2019, 5, 1)


def test_the_communes_table_sorts_by_its_columns_without_javascript(world, login):
    make_member(world.other_branch, name="Người Thứ Hai")
    make_member(world.other_branch, name="Người Thứ Ba")
    client = login(world.district)
    by_name = [r["commune"].name for r in client.get("/").context["communes"]]
    assert by_name == sorted(by_name)
    most = client.get("/?sort=-members").context["communes"]
    assert [r["commune"] for r in most] == [world.other_commune, world.commune]
    assert [r["members"] for r in most] == [3, 2]
    html = client.get("/?sort=members").content.decode()
    assert "sort=-members" in html  # the header links to the other direction
    # The commune secretary's dashboard has no table of communes.
    assert "communes" not in login(world.secretary).get("/").context
