"""Admission pipeline, probation and card numbers (issue 6): the services and flags."""

import datetime

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from branches.access import scope_for
from members.models import (
    Candidate,
    CandidateStep,
    CandidateStepRecord,
    Member,
    Membership,
    MemberStatus,
)
from members.selectors.growth import probations_due
from members.services import growth
from pacnam.lib.dates import add_working_days
from pacnam.lib.errors import DomainError, NotAllowed
from tests.conftest import make_member, working_days_between
from tests.growth_helpers import STEP_DATES, advance, make_candidate

D = datetime.date


@pytest.fixture(autouse=True)
def english():
    # The refusals are checked by their wording; the interface default is Vietnamese.
    with translation.override("en"):
        yield


# --- Steps in order ---


def test_each_step_is_recorded_with_who_and_when(world):
    candidate = make_candidate(world, by=world.secretary)
    advance(world, candidate, CandidateStep.VERIFICATION)
    candidate.refresh_from_db()
    assert candidate.step == CandidateStep.VERIFICATION
    assert candidate.application_on == STEP_DATES[CandidateStep.APPLICATION]
    records = list(
        CandidateStepRecord.objects.filter(candidate=candidate).values_list("step", "recorded_by")
    )
    assert [step for step, _ in records] == [
        "registered",
        "awareness",
        "application",
        "history",
        "introducers",
        "verification",
    ]
    assert {by for _, by in records} == {world.secretary.pk}


def test_a_step_out_of_order_is_refused_with_the_step_to_do_first(world):
    candidate = make_candidate(world)
    with pytest.raises(DomainError) as info:
        growth.candidate_step_record(
            by=world.secretary,
            candidate=candidate,
            step=CandidateStep.APPLICATION,
            on=D(2024, 1, 1),
        )
    assert "Party-awareness class certificate" in str(info.value)
    assert Candidate.objects.get(pk=candidate.pk).application_on is None


def test_a_step_recorded_twice_is_refused(world):
    candidate = make_candidate(world)
    advance(world, candidate, CandidateStep.AWARENESS)
    with pytest.raises(DomainError, match="already recorded"):
        growth.candidate_step_record(
            by=world.secretary, candidate=candidate, step=CandidateStep.AWARENESS, on=D(2024, 1, 1)
        )


def test_a_step_dated_before_the_previous_one_is_refused(world):
    candidate = advance(world, make_candidate(world), CandidateStep.AWARENESS)
    with pytest.raises(DomainError, match="before the previous step"):
        growth.candidate_step_record(
            by=world.secretary,
            candidate=candidate,
            step=CandidateStep.APPLICATION,
            on=D(2024, 1, 9),
        )


def test_the_database_refuses_steps_out_of_order(world):
    candidate = make_candidate(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        Candidate.objects.filter(pk=candidate.pk).update(application_on=D(2024, 1, 1))
    advance(world, candidate, CandidateStep.APPLICATION)
    with pytest.raises(IntegrityError), transaction.atomic():
        Candidate.objects.filter(pk=candidate.pk).update(application_on=D(2023, 1, 1))


def test_only_the_communes_secretary_or_the_district_records_steps(world):
    candidate = make_candidate(world)
    for user in (world.branch_secretary, world.outsider, world.nobody):
        with pytest.raises(NotAllowed):
            growth.candidate_step_record(
                by=user, candidate=candidate, step=CandidateStep.AWARENESS, on=D(2024, 1, 10)
            )
    growth.candidate_step_record(
        by=world.district, candidate=candidate, step=CandidateStep.AWARENESS, on=D(2024, 1, 10)
    )


def test_a_member_cannot_become_a_candidate_again(world):
    with pytest.raises(DomainError, match="already exists"):
        make_candidate(world, citizen_id=world.member.citizen_id)
    candidate = make_candidate(world)
    with pytest.raises(DomainError, match="already a candidate"):
        make_candidate(world, citizen_id=candidate.citizen_id)


# --- Certificate: valid 60 months ---


@pytest.mark.parametrize(
    "today, expired",
    [(D(2025, 3, 9), False), (D(2025, 3, 10), True), (D(2025, 3, 11), True)],
)
def test_certificate_is_flagged_from_the_day_60_months_after_it(world, today, expired):
    candidate = make_candidate(world)
    advance(
        world, candidate, CandidateStep.AWARENESS, dates={CandidateStep.AWARENESS: D(2020, 3, 10)}
    )
    candidate.refresh_from_db()
    assert candidate.certificate_expires_on() == D(2025, 3, 10)
    assert candidate.certificate_expired(today) is expired


@pytest.mark.parametrize("decision_on, expired", [(D(2025, 3, 7), False), (D(2025, 3, 10), True)])
def test_after_the_decision_the_certificate_is_judged_on_the_decision_date(
    world, decision_on, expired
):
    dates = {step: D(2021, 6, 1) for step in STEP_DATES}
    dates[CandidateStep.AWARENESS] = D(2020, 3, 10)
    dates[CandidateStep.DECISION] = decision_on
    candidate = advance(world, make_candidate(world), CandidateStep.DECISION, dates=dates)
    assert candidate.certificate_expired(D(2026, 11, 1)) is expired


# --- Introducers ---


INTRODUCED_ON = D(2024, 4, 1)


def _intro(world, candidate, introducers):
    return growth.candidate_introducers_record(
        by=world.secretary, candidate=candidate, introducers=introducers, on=INTRODUCED_ON
    )


@pytest.fixture
def at_introducers(world):
    candidate = make_candidate(world)
    return advance(world, candidate, CandidateStep.HISTORY)


@pytest.fixture
def good_introducer(world):
    return make_member(world.branch, name="Lục Thị Hai")


def test_two_full_members_who_worked_a_year_with_the_candidate_introduce_them(
    world, at_introducers, good_introducer
):
    # Exactly one year before the date counts as "at least a year".
    candidate = _intro(
        world, at_introducers, [(world.member, D(2023, 4, 1)), (good_introducer, D(2020, 1, 1))]
    )
    assert candidate.introducers_on == D(2024, 4, 1)
    assert sorted(i.member_id for i in candidate.introducers.all()) == sorted(
        [world.member.pk, good_introducer.pk]
    )


def test_an_introducer_who_worked_less_than_a_year_is_refused(
    world, at_introducers, good_introducer
):
    with pytest.raises(DomainError, match="less than a year"):
        _intro(
            world, at_introducers, [(world.member, D(2023, 4, 2)), (good_introducer, D(2020, 1, 1))]
        )
    assert not at_introducers.introducers.exists()


def test_a_probationary_introducer_is_refused(world, at_introducers, good_introducer):
    probationary = make_member(
        world.branch, name="Ma Văn Dự", admitted_on=D(2023, 9, 1), full_on=None
    )
    with pytest.raises(DomainError, match="not a full member"):
        _intro(
            world, at_introducers, [(probationary, D(2020, 1, 1)), (good_introducer, D(2020, 1, 1))]
        )


def test_a_suspended_introducer_is_refused(world, at_introducers, good_introducer):
    Member.objects.filter(pk=world.member.pk).update(status=MemberStatus.SUSPENDED)
    world.member.refresh_from_db()
    with pytest.raises(DomainError, match="not a full member"):
        _intro(
            world, at_introducers, [(world.member, D(2020, 1, 1)), (good_introducer, D(2020, 1, 1))]
        )


def test_an_introducer_from_another_branch_is_refused(world, at_introducers, good_introducer):
    elsewhere = make_member(world.branch2, name="Đàm Văn Khác")
    with pytest.raises(DomainError, match="not a member of branch"):
        _intro(
            world, at_introducers, [(elsewhere, D(2020, 1, 1)), (good_introducer, D(2020, 1, 1))]
        )


def test_the_same_introducer_twice_is_refused(world, at_introducers):
    with pytest.raises(DomainError, match="two different people"):
        _intro(
            world, at_introducers, [(world.member, D(2020, 1, 1)), (world.member, D(2020, 1, 1))]
        )


# --- Ceremony: within 30 working days, and the member it creates ---


def test_working_days_skip_weekends_and_holidays():
    # 1 August 2025 is a Friday; 1 and 2 September 2025 are holidays.
    assert add_working_days(D(2025, 8, 1), 30) == D(2025, 9, 16)
    assert working_days_between(D(2025, 8, 1), D(2025, 9, 16)) == 30
    with override_settings(HOLIDAYS=[]):
        assert add_working_days(D(2025, 8, 1), 30) == D(2025, 9, 12)


@pytest.mark.parametrize(
    "ceremony_on, late", [(D(2025, 9, 15), False), (D(2025, 9, 16), False), (D(2025, 9, 17), True)]
)
def test_ceremony_is_flagged_after_30_working_days(world, ceremony_on, late):
    dates = {**{s: D(2025, 7, 1) for s in STEP_DATES}, CandidateStep.DECISION: D(2025, 8, 1)}
    dates[CandidateStep.CEREMONY] = ceremony_on
    candidate = make_candidate(world)
    advance(world, candidate, CandidateStep.CEREMONY, dates=dates)
    candidate.refresh_from_db()
    assert candidate.ceremony_deadline() == D(2025, 9, 16)
    assert candidate.ceremony_late(D(2026, 1, 1)) is late


@pytest.mark.parametrize("today, late", [(D(2025, 9, 16), False), (D(2025, 9, 17), True)])
def test_a_ceremony_not_held_is_flagged_once_the_deadline_passes(world, today, late):
    dates = {**{s: D(2025, 7, 1) for s in STEP_DATES}, CandidateStep.DECISION: D(2025, 8, 1)}
    candidate = advance(world, make_candidate(world), CandidateStep.DECISION, dates=dates)
    assert candidate.ceremony_late(today) is late


def test_the_ceremony_makes_a_probationary_member_of_the_branch(world):
    candidate = make_candidate(world, name="Hà Thị Mai")
    member = advance(world, candidate, CandidateStep.CEREMONY)
    assert isinstance(member, Member)
    assert member.full_on is None and member.card_number == ""
    assert (
        member.admitted_on == STEP_DATES[CandidateStep.DECISION]
    )  # Party age counts from the decision
    assert member.branch == world.branch
    membership = Membership.objects.get(member=member)
    assert membership.started_on == STEP_DATES[CandidateStep.CEREMONY]
    assert membership.branch == world.branch and membership.ended_on is None
    candidate.refresh_from_db()
    assert candidate.member == member and not candidate.is_open


def test_the_admission_is_all_or_nothing(world, monkeypatch):
    candidate = advance(world, make_candidate(world), CandidateStep.DECISION)
    members_before, memberships_before = Member.objects.count(), Membership.objects.count()
    real_member_create = growth.member_create

    def fail_after_insert(**kwargs):
        member = real_member_create(**kwargs)
        assert Member.objects.filter(pk=member.pk).exists()  # the insert did happen
        raise RuntimeError("power cut")

    monkeypatch.setattr(growth, "member_create", fail_after_insert)
    with pytest.raises(RuntimeError):
        growth.candidate_admit(by=world.secretary, candidate=candidate, on=D(2024, 8, 20))
    assert Member.objects.count() == members_before
    assert Membership.objects.count() == memberships_before
    candidate.refresh_from_db()
    assert candidate.ceremony_on is None and candidate.member is None
    assert not CandidateStepRecord.objects.filter(candidate=candidate, step="ceremony").exists()


def test_a_candidate_under_18_on_the_decision_date_is_refused(world):
    candidate = make_candidate(world, birth_date=D(2006, 8, 2))
    advance(world, candidate, CandidateStep.COMMUNE_RESOLUTION)
    with pytest.raises(DomainError, match="at least 18"):
        growth.candidate_decision_record(
            by=world.secretary, candidate=candidate, number="1", on=D(2024, 8, 1)
        )
    growth.candidate_decision_record(
        by=world.secretary, candidate=candidate, number="1", on=D(2024, 8, 2)
    )


def test_a_withdrawn_candidate_takes_no_more_steps_and_may_start_again(world):
    candidate = advance(world, make_candidate(world), CandidateStep.APPLICATION)
    growth.candidate_withdraw(
        by=world.secretary, candidate=candidate, on=D(2024, 3, 1), reason="moved away"
    )
    with pytest.raises(DomainError, match="withdrawn"):
        growth.candidate_step_record(
            by=world.secretary, candidate=candidate, step="history", on=D(2024, 3, 2)
        )
    again = make_candidate(world, citizen_id=candidate.citizen_id)
    assert again.pk != candidate.pk


# --- Probation: 12 months from the ceremony ---


@pytest.fixture
def probationer(world):
    dates = {**{s: D(2024, 12, 1) for s in STEP_DATES}, CandidateStep.CEREMONY: D(2025, 3, 10)}
    dates[CandidateStep.AWARENESS] = D(2024, 11, 1)
    return advance(
        world, make_candidate(world, name="Bế Văn Dự"), CandidateStep.CEREMONY, dates=dates
    )


@pytest.mark.parametrize(
    "today, section",
    [
        (D(2026, 2, 28), None),  # due next month: not listed yet
        (D(2026, 3, 1), "due"),
        (D(2026, 3, 10), "due"),  # the last day of probation
        (D(2026, 3, 11), "overdue"),
        (D(2026, 4, 30), "overdue"),
    ],
)
def test_probation_is_due_12_months_after_the_ceremony(world, probationer, today, section):
    result = probations_due(scope_for(world.secretary), today)
    found = {key: [p.member.pk for p in rows] for key, rows in result.items()}
    for key in ("due", "overdue"):
        assert (probationer.pk in found[key]) is (key == section)
    if section:
        row = next(p for p in result[section] if p.member.pk == probationer.pk)
        assert row.ends_on == D(2026, 3, 10) and row.started_on == D(2025, 3, 10)


def test_members_without_a_ceremony_on_record_count_probation_from_admission(world):
    legacy = make_member(world.branch, name="Ma Thị Cũ", admitted_on=D(2025, 5, 19), full_on=None)
    result = probations_due(scope_for(world.district), D(2026, 5, 19))
    assert [p.member.pk for p in result["due"]] == [legacy.pk]


@pytest.mark.parametrize("voted_on, accepted", [(D(2026, 3, 9), False), (D(2026, 3, 10), True)])
def test_recognition_as_full_member_comes_after_12_months(world, probationer, voted_on, accepted):
    call = lambda: growth.member_recognize_full(  # noqa: E731
        by=world.secretary,
        member=probationer,
        branch_voted_on=voted_on,
        decision_number="45-QĐ/ĐU",
        decision_on=D(2026, 3, 20),
    )
    if not accepted:
        with pytest.raises(DomainError, match="ends on 10/03/2026"):
            call()
        probationer.refresh_from_db()
        assert probationer.full_on is None
        return
    call()
    probationer.refresh_from_db()
    assert probationer.full_on == D(2026, 3, 20)
    assert probationer.recognition.branch_voted_on == voted_on
    assert probationer.recognition.decision_number == "45-QĐ/ĐU"
    assert probations_due(scope_for(world.secretary), D(2026, 4, 1))["overdue"] == []


def test_the_branch_secretary_cannot_recognise(world, probationer):
    with pytest.raises(NotAllowed):
        growth.member_recognize_full(
            by=world.branch_secretary,
            member=probationer,
            branch_voted_on=D(2026, 3, 12),
            decision_number="1",
            decision_on=D(2026, 3, 20),
        )


@given(
    start=st.dates(min_value=D(2018, 1, 1), max_value=D(2027, 12, 31)),
    n=st.integers(min_value=0, max_value=80),
)
def test_adding_n_working_days_lands_on_a_working_day_n_working_days_later(start, n):
    end = add_working_days(start, n)
    assert working_days_between(start, end) == n
    if n:
        assert end.weekday() < 5 and end.isoformat() not in settings.HOLIDAYS
        assert working_days_between(start, end - datetime.timedelta(days=1)) == n - 1
