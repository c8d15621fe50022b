"""Pages of the admission pipeline, probation, ratings and badges (issue 6):
an access test per role for every view, and fixed query counts for list pages."""

import datetime
import re

import pytest
from django.urls import reverse

from members.models import Candidate, CandidateStep, Evaluation, Member
from tests.conftest import ROLES, make_branch, make_member
from tests.growth_helpers import advance, make_candidate

D = datetime.date
SINCE = D(2000, 1, 3)


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # Tests run with DEBUG off but without collectstatic: no manifest to look in.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _user(world, role):
    return None if role == "anonymous" else getattr(world, role)


def _get(world, login, role, url):
    return login(_user(world, role)).get(url)


def _assert_login_redirect(response):
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.fixture
def candidate(world):
    return advance(world, make_candidate(world, name="Hà Thị Mai"), CandidateStep.APPLICATION)


# --- Access per role ---

READ_ALL = {
    "admin": 200,
    "district": 200,
    "secretary": 200,
    "branch_secretary": 200,
    "outsider": 404,
    "nobody": 404,
}
WRITE = {
    "admin": 200,
    "district": 200,
    "secretary": 200,
    "branch_secretary": 403,
    "outsider": 404,
    "nobody": 404,
}


@pytest.mark.parametrize("role", ROLES)
def test_candidate_detail_access(world, login, candidate, role):
    response = _get(world, login, role, reverse("growth:candidate_detail", args=[candidate.pk]))
    if role == "anonymous":
        return _assert_login_redirect(response)
    assert response.status_code == READ_ALL[role]
    if response.status_code == 200:
        assert "Hà Thị Mai" in response.text
        # Only those who may change see the form for the next step.
        assert (reverse("growth:candidate_step", args=[candidate.pk]) in response.text) is (
            role != "branch_secretary"
        )


@pytest.mark.parametrize("role", ROLES)
def test_candidate_list_shows_only_candidates_in_scope(world, login, candidate, role):
    response = _get(world, login, role, reverse("growth:candidate_list"))
    if role == "anonymous":
        return _assert_login_redirect(response)
    assert response.status_code == 200
    assert ("Hà Thị Mai" in response.text) is (
        role in ("admin", "district", "secretary", "branch_secretary")
    )


@pytest.mark.parametrize("role", ROLES)
def test_recording_a_step_access(world, login, candidate, role):
    url = reverse("growth:candidate_step", args=[candidate.pk])
    response = login(_user(world, role)).post(url, {"step-on": "2024-03-01"})
    if role == "anonymous":
        return _assert_login_redirect(response)
    expected = {**WRITE, "admin": 302, "district": 302, "secretary": 302}[role]
    assert response.status_code == expected
    candidate.refresh_from_db()
    assert (candidate.history_on == D(2024, 3, 1)) is (expected == 302)


def test_a_step_is_post_only(world, login, candidate):
    assert (
        login(world.secretary)
        .get(reverse("growth:candidate_step", args=[candidate.pk]))
        .status_code
        == 405
    )


@pytest.mark.parametrize("role", ROLES)
def test_withdraw_access(world, login, candidate, role):
    url = reverse("growth:candidate_withdraw", args=[candidate.pk])
    response = login(_user(world, role)).post(
        url, {"withdraw-on": "2024-03-01", "withdraw-reason": "đi làm xa"}
    )
    if role == "anonymous":
        return _assert_login_redirect(response)
    expected = {**WRITE, "admin": 302, "district": 302, "secretary": 302}[role]
    assert response.status_code == expected
    candidate.refresh_from_db()
    assert (candidate.withdrawn_on is not None) is (expected == 302)


@pytest.mark.parametrize("role", ROLES)
def test_candidate_create_access(world, login, role):
    url = reverse("growth:candidate_create")
    response = _get(world, login, role, url)
    if role == "anonymous":
        return _assert_login_redirect(response)
    expected = {
        "admin": 200,
        "district": 200,
        "secretary": 200,
        "outsider": 200,
        "branch_secretary": 403,
        "nobody": 404,
    }[role]
    assert response.status_code == expected
    if expected != 200:
        return
    data = {
        "full_name": "Triệu Thị Mới",
        "citizen_id": "098765432109",
        "birth_date": "2001-02-03",
        "gender": "female",
        "ethnicity": "Dao",
        "residence_village": world.village.pk,
        "branch": world.branch.pk,
    }
    response = login(_user(world, role)).post(url, data)
    created = Candidate.objects.filter(citizen_id="098765432109").first()
    if role == "outsider":
        # Another commune's branch cannot even be chosen.
        assert response.status_code == 200 and created is None
        assert "branch" in response.context["form"].errors
    else:
        assert created is not None and created.branch == world.branch
        assert response.status_code == 302


def test_a_refused_step_is_a_form_error_and_nothing_is_saved(world, login, candidate):
    response = login(world.secretary).post(
        reverse("growth:candidate_step", args=[candidate.pk]), {"step-on": "2024-01-01"}
    )
    assert response.status_code == 400
    assert "on" in response.context["step_form"].errors
    assert "trước ngày của bước trước" in response.text  # shown in Vietnamese, the default
    candidate.refresh_from_db()
    assert candidate.history_on is None


def test_introducer_refusal_is_shown_on_the_page(world, login):
    candidate = advance(world, make_candidate(world), CandidateStep.HISTORY)
    outsider_member = make_member(world.branch2, name="Đàm Văn Khác")
    response = login(world.secretary).post(
        reverse("growth:candidate_step", args=[candidate.pk]),
        {
            "step-first": world.member.pk,
            "step-first_since": "2020-01-01",
            "step-second": outsider_member.pk,
            "step-second_since": "2020-01-01",
            "step-on": "2024-04-01",
        },
    )
    assert response.status_code == 400
    assert "Đàm Văn Khác" in response.text
    candidate.refresh_from_db()
    assert candidate.introducers_on is None


def test_the_ceremony_through_the_page_creates_the_member(world, login):
    candidate = advance(world, make_candidate(world, name="Lương Thị Vào"), CandidateStep.DECISION)
    response = login(world.secretary).post(
        reverse("growth:candidate_step", args=[candidate.pk]), {"step-on": "2024-08-20"}
    )
    assert response.status_code == 302
    member = Member.objects.get(full_name="Lương Thị Vào")
    assert member.admitted_on == D(2024, 8, 1) and member.full_on is None


@pytest.mark.parametrize("role", ROLES)
def test_probation_list_access(world, login, role):
    make_member(world.branch, name="Bế Văn Dự", admitted_on=D(2024, 1, 5), full_on=None)
    response = _get(world, login, role, reverse("growth:probation_list"))
    if role == "anonymous":
        return _assert_login_redirect(response)
    assert response.status_code == 200
    assert ("Bế Văn Dự" in response.text) is (
        role in ("admin", "district", "secretary", "branch_secretary")
    )


@pytest.mark.parametrize("role", ROLES)
def test_recognition_access(world, login, role):
    probationer = make_member(
        world.branch, name="Bế Văn Dự", admitted_on=D(2024, 1, 5), full_on=None
    )
    url = reverse("growth:member_recognize", args=[probationer.pk])
    response = _get(world, login, role, url)
    if role == "anonymous":
        return _assert_login_redirect(response)
    assert response.status_code == WRITE[role]
    if response.status_code != 200:
        return
    response = login(_user(world, role)).post(
        url,
        {
            "branch_voted_on": "2025-01-10",
            "decision_number": "9-QĐ/ĐU",
            "decision_on": "2025-01-20",
        },
    )
    assert response.status_code == 302
    probationer.refresh_from_db()
    assert probationer.full_on == D(2025, 1, 20)


def test_recognition_before_the_end_of_probation_is_a_form_error(world, login):
    probationer = make_member(
        world.branch, name="Bế Văn Dự", admitted_on=D(2024, 1, 5), full_on=None
    )
    response = login(world.secretary).post(
        reverse("growth:member_recognize", args=[probationer.pk]),
        {"branch_voted_on": "2025-01-04", "decision_number": "9", "decision_on": "2025-01-20"},
    )
    assert response.status_code == 200
    assert "branch_voted_on" in response.context["form"].errors
    probationer.refresh_from_db()
    assert probationer.full_on is None


@pytest.mark.parametrize("role", ROLES)
def test_rating_form_access(world, login, role):
    url = reverse("growth:rating_form", args=[world.branch.pk, 2025])
    response = _get(world, login, role, url)
    if role == "anonymous":
        return _assert_login_redirect(response)
    assert response.status_code == READ_ALL[role]
    if response.status_code != 200:
        return
    assert "Hoàng Văn Mạnh" in response.text
    response = login(_user(world, role)).post(
        url, {f"member_{world.member.pk}": "excellent", "branch": "good"}
    )
    saved = Evaluation.objects.filter(year=2025).count()
    if role == "branch_secretary":
        assert response.status_code == 403 and saved == 0
    else:
        assert response.status_code == 302 and saved == 2


def test_rating_form_lists_only_rateable_members(world, login):
    make_member(world.branch, name="Miễn Sinh Hoạt", status="exempt")
    make_member(world.branch, name="Đình Chỉ", status="suspended")
    response = login(world.secretary).get(
        reverse("growth:rating_form", args=[world.branch.pk, 2025])
    )
    assert "Hoàng Văn Mạnh" in response.text
    assert "Miễn Sinh Hoạt" not in response.text and "Đình Chỉ" not in response.text


@pytest.mark.parametrize("role", ROLES)
def test_rating_report_access(world, login, role):
    Evaluation.objects.create(
        year=2025, branch=world.branch, member=world.member, rating="excellent"
    )
    response = _get(world, login, role, reverse("growth:rating_report") + "?year=2025")
    if role == "anonymous":
        return _assert_login_redirect(response)
    assert response.status_code == 200
    assert (world.branch.name in response.text) is (
        role in ("admin", "district", "secretary", "branch_secretary")
    )


@pytest.mark.parametrize("role", ROLES)
def test_badge_list_access(world, login, role):
    make_member(
        world.branch,
        name="Lão Thành",
        admitted_on=D(1976, 2, 3),
        birth_date=D(1950, 1, 1),
        since=SINCE,
    )
    response = _get(world, login, role, reverse("growth:badge_list") + "?year=2026")
    if role == "anonymous":
        return _assert_login_redirect(response)
    assert response.status_code == 200
    assert ("Lão Thành" in response.text) is (
        role in ("admin", "district", "secretary", "branch_secretary")
    )


# --- Fixed number of queries on list pages ---


def _grow(world, n):
    """Add n of everything the list pages show."""
    for i in range(n):
        advance(world, make_candidate(world, name=f"Ứng Viên {i}"), CandidateStep.INTRODUCERS)
        make_member(world.branch, name=f"Dự Bị {i}", admitted_on=D(2024, 1, 5), full_on=None)
        make_member(
            world.branch,
            name=f"Lão {i}",
            admitted_on=D(1986, 1, 5),
            birth_date=D(1960, 1, 1),
            since=SINCE,
        )
        Evaluation.objects.create(
            year=2025, branch=world.branch2, member=make_member(world.branch2), rating="good"
        )


# The queries every logged-in page makes: 1 session, 2 user, 3 role (scope), and the
# session saved on every request (SESSION_SAVE_EVERY_REQUEST): savepoint, update, release;
BASE = 6
# An officer's page asks once more: whether their district holds every commune (Scope.sees_all).
OFFICER = BASE + 1
PAGES = [
    # 4 candidates with their branch and commune.
    ("growth:candidate_list", [], "", OFFICER + 1),
    # 4 probationary members due or overdue, with branch and commune.
    ("growth:probation_list", [], "", OFFICER + 1),
    # 4 communes, 5 counts per commune/year/rating, 6 branches with their count of ratings.
    ("growth:rating_report", [], "?year=2025", OFFICER + 3),
    # 4 the first admission (the years offered), 5 members reaching an anniversary,
    # with branch and commune.
    ("growth:badge_list", [], "?year=2026", OFFICER + 2),
]


@pytest.mark.parametrize("name, args, query, expected", PAGES)
def test_list_pages_have_a_fixed_number_of_queries(
    world, login, django_assert_num_queries, name, args, query, expected
):
    client = login(world.district)
    url = reverse(name, args=args) + query
    _grow(world, 1)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200
    _grow(world, 4)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200


def test_candidate_detail_has_a_fixed_number_of_queries(world, login, django_assert_num_queries):
    client = login(world.secretary)
    candidate = advance(world, make_candidate(world), CandidateStep.INTRODUCERS)
    url = reverse("growth:candidate_detail", args=[candidate.pk])
    # 4 candidate with branch, commune, village and member; 5 introducers with members;
    # 6 step records with who; 7 members the introducers form offers (rendered).
    with django_assert_num_queries(BASE + 3):
        assert client.get(url).status_code == 200
    advance(world, candidate, CandidateStep.COMMUNE_RESOLUTION)
    with django_assert_num_queries(BASE + 3):
        assert client.get(url).status_code == 200


def test_rating_form_has_a_fixed_number_of_queries(world, login, django_assert_num_queries):
    client = login(world.secretary)
    url = reverse("growth:rating_form", args=[world.branch.pk, 2025])
    # 4 branch with commune, 5 rateable members, 6 their ratings so far.
    with django_assert_num_queries(BASE + 3):
        assert client.get(url).status_code == 200
    for i in range(4):
        member = make_member(world.branch, name=f"Thêm {i}")
        Evaluation.objects.create(year=2025, branch=world.branch, member=member, rating="good")
    with django_assert_num_queries(BASE + 3):
        response = client.get(url)
    assert response.text.count('value="good" selected') == 4


# --- What the pages say ---


def test_the_list_flags_an_expired_certificate_and_a_late_ceremony(world, login):
    later = {
        s: D(2021, 6, 1)
        for s in (
            CandidateStep.APPLICATION,
            CandidateStep.HISTORY,
            CandidateStep.INTRODUCERS,
            CandidateStep.VERIFICATION,
            CandidateStep.BRANCH_RESOLUTION,
            CandidateStep.COMMUNE_RESOLUTION,
        )
    }
    old_certificate = {**later, CandidateStep.AWARENESS: D(2020, 3, 10)}
    advance(
        world,
        make_candidate(world, name="Chứng Chỉ Cũ"),
        CandidateStep.HISTORY,
        dates=old_certificate,
    )
    decided = {
        **later,
        CandidateStep.AWARENESS: D(2021, 1, 1),
        CandidateStep.DECISION: D(2021, 7, 1),
    }
    advance(world, make_candidate(world, name="Trễ Lễ"), CandidateStep.DECISION, dates=decided)
    response = login(world.secretary).get(reverse("growth:candidate_list"))
    assert response.text.count('class="badge bad"') == 2
    assert "10/03/2025" in response.text  # the certificate's expiry, DD/MM/YYYY
    assert "12/08/2021" in response.text  # 30 working days after 1 July 2021


def test_form_pages_have_a_fixed_number_of_queries(world, login, django_assert_num_queries):
    client = login(world.secretary)
    probationer = make_member(
        world.branch, name="Bế Văn Dự", admitted_on=D(2024, 1, 5), full_on=None
    )
    create_url = reverse("growth:candidate_create")
    recognize_url = reverse("growth:member_recognize", args=[probationer.pk])
    for _round in range(2):
        # 7 branches offered (with commune), 8 villages offered (with commune).
        with django_assert_num_queries(BASE + 2):
            assert client.get(create_url).status_code == 200
        # The scope's branch ids (issue 14), the member with branch and commune.
        with django_assert_num_queries(BASE + 2):
            assert client.get(recognize_url).status_code == 200
        _grow(world, 3)
        make_branch(world.commune, name="Chi bộ thôn Mới")  # one more branch and village offered


@pytest.mark.parametrize("role, sees_district", [("district", True), ("secretary", False)])
def test_the_district_total_row_is_for_the_district_only(world, login, role, sees_district):
    Evaluation.objects.create(
        year=2025, branch=world.branch, member=world.member, rating="excellent"
    )
    response = login(getattr(world, role)).get(reverse("growth:rating_report") + "?year=2025")
    assert ("Toàn huyện" in response.text) is sees_district


def test_the_dashboard_piece_renders_in_a_fixed_number_of_queries(world, django_assert_num_queries):
    from django.template.loader import render_to_string

    from branches.access import scope_for
    from members.selectors.growth import growth_dashboard

    scope = scope_for(world.district)
    assert scope.sees_all  # asked once per request, before the pieces are drawn
    for rounds in (1, 3):
        _grow(world, rounds)
        # candidates per step; communes and admissions; probations; ratings.
        with django_assert_num_queries(5):
            html = render_to_string(
                "members/growth/_dashboard.html",
                {"growth": growth_dashboard(scope, D(2026, 11, 26))},
            )
    assert "hai đảng viên giới thiệu" in html  # the step all grown candidates reached
    # Candidates open: 1 + 3.
    assert (
        '<span class="figure">4</span><span class="label">đối tượng kết nạp đang theo dõi' in html
    )


@pytest.mark.parametrize("model", ["candidate", "evaluation", "fullmembershiprecognition"])
def test_admin_lists_the_new_records(world, login, candidate, model):
    Evaluation.objects.create(year=2025, branch=world.branch, member=world.member, rating="good")
    response = login(world.admin).get(reverse(f"admin:members_{model}_changelist"))
    assert response.status_code == 200
    if model == "candidate":
        assert "Hà Thị Mai" in response.text
        assert (
            login(world.admin)
            .get(reverse("admin:members_candidate_change", args=[candidate.pk]))
            .status_code
            == 200
        )


def test_the_ratings_form_says_why_it_is_read_only(world, login):
    url = reverse("growth:rating_form", args=[world.branch.pk, 2025])
    page = login(world.branch_secretary).get(url).text
    assert "Chỉ xem" in page and "Đảng ủy xã" in page
    assert "Chỉ xem" not in login(world.secretary).get(url).text


def test_the_badge_years_cover_the_registrys_years(world, login):
    from django.utils import timezone

    make_member(
        world.branch,
        name="Lão Thành",
        birth_date=D(1935, 1, 1),
        admitted_on=D(1960, 3, 2),
        full_on=D(1961, 3, 2),
        since=SINCE,
    )
    page = login(world.district).get(reverse("growth:badge_list")).text
    offered = {int(y) for y in re.findall(r'<option value="(\d{4})"', page)}
    this_year = timezone.localdate().year
    # From 1990 (30 years after the earliest admission) to two years ahead.
    assert offered == set(range(1990, this_year + 3))
    # The demo district's year, 2019, can be chosen and shows its list.
    page = login(world.district).get(reverse("growth:badge_list") + "?year=2019").text
    assert '<option value="2019" selected>' in page
