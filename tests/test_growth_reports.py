"""Annual ratings, Party badges, dashboard pieces and the growth_report command (issue 6)."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import translation

from branches.access import scope_for
from members.models import CandidateStep, Evaluation, Member, MemberStatus
from members.selectors.growth import (
    BADGE_YEARS,
    admissions_per_year,
    badges_by_commune,
    candidates_by_step,
    probations_due,
    rating_distribution,
    rating_report,
)
from members.services import growth
from members.services.members import member_leave
from pacnam.lib.errors import DomainError, NotAllowed
from tests.conftest import make_member
from tests.growth_helpers import advance, make_candidate

D = datetime.date


@pytest.fixture(autouse=True)
def english():
    # The refusals are checked by their wording; the interface default is Vietnamese.
    with translation.override("en"):
        yield


# The test branches were founded on 1 January 2000: veterans joined them after.
SINCE = D(2000, 1, 3)


# --- Ratings ---


def _rate(world, ratings, branch=None, branch_rating="good", year=2025, by=None):
    return growth.evaluations_record(
        by=by or world.secretary,
        branch=branch or world.branch,
        year=year,
        member_ratings=ratings,
        branch_rating=branch_rating,
    )


def test_members_and_the_branch_are_rated_once_a_year(world):
    second = make_member(world.branch, name="Lục Thị Hai")
    assert _rate(world, {world.member.pk: "excellent", second.pk: "good"}) == 3
    # Saving the form again corrects the ratings, it does not add rows.
    _rate(world, {world.member.pk: "satisfactory"}, branch_rating="excellent")
    assert Evaluation.objects.count() == 3
    assert Evaluation.objects.get(member=world.member, year=2025).rating == "satisfactory"
    assert Evaluation.objects.get(member=None, branch=world.branch, year=2025).rating == "excellent"


@pytest.mark.parametrize("status", [MemberStatus.EXEMPT, MemberStatus.SUSPENDED])
def test_exempt_and_suspended_members_are_not_rated(world, status):
    Member.objects.filter(pk=world.member.pk).update(status=status)
    assert world.member.pk not in growth.rateable_members(world.branch, 2025).values_list(
        "pk", flat=True
    )
    with pytest.raises(DomainError, match="Hoàng Văn Mạnh"):
        _rate(world, {world.member.pk: "good"})
    assert not Evaluation.objects.exists()  # the branch's own rating was not saved either


def test_a_member_of_another_branch_is_not_rated_here(world):
    with pytest.raises(DomainError, match="not on its roster"):
        _rate(world, {world.cadre.pk: "good"})


def test_probationary_members_are_rated(world):
    newcomer = make_member(world.branch, name="Ma Văn Mới", admitted_on=D(2025, 2, 1), full_on=None)
    assert newcomer.pk in growth.rateable_members(world.branch, 2025).values_list("pk", flat=True)
    assert newcomer.pk not in growth.rateable_members(world.branch, 2024).values_list(
        "pk", flat=True
    )


def test_ratings_are_unique_per_year_in_the_database(world):
    Evaluation.objects.create(year=2025, branch=world.branch, member=world.member, rating="good")
    Evaluation.objects.create(year=2025, branch=world.branch, rating="good")
    with pytest.raises(IntegrityError), transaction.atomic():
        Evaluation.objects.create(
            year=2025, branch=world.branch2, member=world.member, rating="excellent"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Evaluation.objects.create(year=2025, branch=world.branch, rating="excellent")
    Evaluation.objects.create(year=2024, branch=world.branch, member=world.member, rating="good")


def test_only_the_commune_secretary_and_district_enter_ratings(world):
    for user in (world.branch_secretary, world.outsider):
        with pytest.raises(NotAllowed):
            _rate(world, {world.member.pk: "good"}, by=user)
    _rate(world, {world.member.pk: "good"}, by=world.district)


def test_rating_report_gives_counts_and_shares_per_commune_and_district(world):
    second = make_member(world.branch, name="Lục Thị Hai")
    third = make_member(world.branch, name="Nông Văn Ba")
    _rate(world, {world.member.pk: "excellent", second.pk: "good", third.pk: "good"}, year=2024)
    _rate(
        world, {world.member.pk: "good", second.pk: "good", third.pk: "not_satisfactory"}, year=2025
    )
    growth.evaluations_record(
        by=world.outsider,
        branch=world.other_branch,
        year=2025,
        member_ratings={world.other_member.pk: "satisfactory"},
        branch_rating=None,
    )
    report = rating_report(scope_for(world.district), [2024, 2025])
    per_commune = dict(report["communes"])
    ours = per_commune[world.commune]
    assert ours[2024]["members"].counts == {
        "excellent": 1,
        "good": 2,
        "satisfactory": 0,
        "not_satisfactory": 0,
    }
    assert [share for *_, share in ours[2025]["members"].rows()] == [0.0, 66.7, 0.0, 33.3]
    assert ours[2025]["branches"].counts["good"] == 1
    assert report["district"][2025]["members"].total == 4
    assert report["district"][2025]["members"].counts["satisfactory"] == 1
    # The commune secretary sees their commune only.
    theirs = rating_report(scope_for(world.secretary), [2025])
    assert [c for c, _ in theirs["communes"]] == [world.commune]
    assert theirs["district"][2025]["members"].total == 3
    distribution = rating_distribution(scope_for(world.secretary), 2025)
    assert distribution["members"].counts["good"] == 2
    assert distribution["branches"].total == 1


# --- Party badges ---


@pytest.mark.parametrize("years", BADGE_YEARS)
def test_badges_go_to_members_reaching_each_anniversary_in_the_year(world, years):
    admitted = D(2026 - years, 6, 15)
    veteran = make_member(
        world.branch,
        name="Hoàng Thị Lão",
        admitted_on=admitted,
        birth_date=D(admitted.year - 20, 1, 1),
        full_on=D(admitted.year + 1, 6, 15),
        since=SINCE,
    )
    scope = scope_for(world.secretary)

    def listed(year):
        return {
            member.pk: n
            for group in badges_by_commune(scope, year)
            for n, members in group.by_years
            for member in members
        }

    assert listed(2026) == {veteran.pk: years}
    assert veteran.pk not in listed(2025)
    assert veteran.pk not in listed(2027)


def test_members_between_anniversaries_and_those_who_left_get_no_badge(world):
    make_member(
        world.branch,
        name="Ba Mươi Mốt",
        admitted_on=D(1995, 1, 1),
        birth_date=D(1970, 1, 1),
        since=SINCE,
    )
    gone = make_member(
        world.branch,
        name="Đã Mất",
        admitted_on=D(1996, 1, 1),
        birth_date=D(1970, 1, 1),
        since=SINCE,
    )
    member_leave(member=gone, on=D(2025, 1, 1), reason="died")
    assert badges_by_commune(scope_for(world.district), 2026) == []


def test_badges_are_grouped_per_commune_and_scoped(world):
    ours = make_member(
        world.branch, name="Xã Ta", admitted_on=D(1986, 3, 1), birth_date=D(1960, 1, 1), since=SINCE
    )
    theirs = make_member(
        world.other_branch,
        name="Xã Bạn",
        admitted_on=D(1976, 3, 1),
        birth_date=D(1950, 1, 1),
        since=SINCE,
    )
    groups = badges_by_commune(scope_for(world.district), 2026)
    assert [(g.commune, g.by_years[0][0], g.by_years[0][1][0].pk) for g in groups] == [
        (world.other_commune, 50, theirs.pk),
        (world.commune, 40, ours.pk),
    ]
    assert [g.commune for g in badges_by_commune(scope_for(world.secretary), 2026)] == [
        world.commune
    ]


# --- Dashboard pieces ---


def test_candidates_by_step_counts_open_candidates_at_their_last_step(
    world, django_assert_num_queries
):
    advance(world, make_candidate(world, name="Một"), CandidateStep.APPLICATION)
    advance(world, make_candidate(world, name="Hai"), CandidateStep.APPLICATION)
    make_candidate(world, name="Ba")
    advance(world, make_candidate(world, name="Bốn"), CandidateStep.CEREMONY)  # admitted: not open
    make_candidate(
        world, branch=world.other_branch, name="Năm", residence_village=world.other_village
    )
    scope = scope_for(world.secretary)
    with django_assert_num_queries(1):
        counts = {step: n for step, _label, n in candidates_by_step(scope)}
    assert counts["application"] == 2 and counts["registered"] == 1 and counts["ceremony"] == 0
    assert sum(counts.values()) == 3


def test_admissions_per_year_per_commune(world, django_assert_num_queries):
    advance(world, make_candidate(world), CandidateStep.CEREMONY)  # decision in 2024
    make_member(world.other_branch, name="Khác", admitted_on=D(2025, 1, 5), full_on=None)
    scope = scope_for(world.district)
    assert scope.sees_all  # asked once per request, before any of the pieces
    with django_assert_num_queries(2):
        result = admissions_per_year(scope, [2024, 2025])
    assert result["rows"][world.commune.pk] == {2024: 1, 2025: 0}
    assert result["rows"][world.other_commune.pk] == {2024: 0, 2025: 1}
    assert result["totals"] == {2024: 1, 2025: 1}


def test_dashboard_pieces_have_a_fixed_number_of_queries(world, django_assert_num_queries):
    scope = scope_for(world.district)
    assert scope.sees_all  # asked once per request, before any of the pieces
    for i in range(3):
        make_member(world.branch, name=f"Dự {i}", admitted_on=D(2025, 1, 5), full_on=None)
        make_member(
            world.branch,
            name=f"Lão {i}",
            admitted_on=D(1986, 1, 5),
            birth_date=D(1960, 1, 1),
            since=SINCE,
        )
    Evaluation.objects.create(year=2025, branch=world.branch, member=world.member, rating="good")
    Evaluation.objects.create(year=2025, branch=world.branch, rating="good")
    with django_assert_num_queries(1):
        due = probations_due(scope, D(2026, 1, 20))
    assert len(due["overdue"]) == 3
    with django_assert_num_queries(1):
        rating_distribution(scope, 2025)
    with django_assert_num_queries(2):
        rating_report(scope, [2024, 2025])
    with django_assert_num_queries(1):
        groups = badges_by_commune(scope, 2026)
    assert groups[0].total == 3


# --- The growth_report command ---


def test_growth_report_prints_the_years_figures_as_csv(world):
    advance(world, make_candidate(world, name="Vào Đảng"), CandidateStep.CEREMONY)  # admitted 2024
    advance(world, make_candidate(world, name="Đang Theo Dõi"), CandidateStep.HISTORY)  # open
    make_member(world.branch, name="Chính Thức", admitted_on=D(2023, 3, 1), full_on=D(2024, 3, 20))
    growth.evaluations_record(
        by=world.secretary,
        branch=world.branch,
        year=2024,
        member_ratings={world.member.pk: "excellent"},
        branch_rating="good",
    )
    growth.evaluations_record(
        by=world.secretary,
        branch=world.office,
        year=2024,
        member_ratings={world.cadre.pk: "not_satisfactory"},
        branch_rating=None,
    )
    out = io.StringIO()
    call_command("growth_report", year=2024, stdout=out)
    assert out.getvalue().splitlines() == [
        "commune_code,admitted,became_full,candidates_open,excellent,good,satisfactory,not_satisfactory",
        "01870,0,0,0,0,0,0,0",
        "01885,1,1,1,1,0,0,1",
    ]
    out = io.StringIO()
    call_command("growth_report", "--year", "2024", "--commune", "01870", stdout=out)
    assert out.getvalue().splitlines()[1:] == ["01870,0,0,0,0,0,0,0"]
