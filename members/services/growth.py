"""Writes of the admission pipeline, probation and annual ratings.

Each function is keyword-only, runs in one transaction, checks the acting
user's scope (branches.access.Scope) and validates before it writes; a broken
rule raises `DomainError` with a complete sentence for the user. Reads and
reports are in members/selectors/growth.py.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.access import Scope, scope_for
from branches.models import Branch, Village
from branches.services.units import branch_check_accepts
from pacnam.audit.trail import audited
from pacnam.lib.dates import add_years, dmy
from pacnam.lib.errors import DomainError

from ..models import (
    CANDIDATE_STEP_DATES,
    Candidate,
    CandidateIntroducer,
    CandidateStep,
    CandidateStepRecord,
    Evaluation,
    FullMembershipRecognition,
    Member,
    Membership,
    MemberStatus,
    Rating,
    probation_ends_on,
)
from .members import lock_member, member_create

STEP_FIELD: dict[str, str] = dict(CANDIDATE_STEP_DATES)  # keyed by the step as stored
# The steps recorded with a plain date (and, for the resolutions, an optional number).
SIMPLE_STEPS = (
    CandidateStep.AWARENESS,
    CandidateStep.APPLICATION,
    CandidateStep.HISTORY,
    CandidateStep.VERIFICATION,
    CandidateStep.BRANCH_RESOLUTION,
    CandidateStep.COMMUNE_RESOLUTION,
)
STEP_NUMBER_FIELD: dict[str, str] = {
    CandidateStep.BRANCH_RESOLUTION: "branch_resolution_number",
    CandidateStep.COMMUNE_RESOLUTION: "commune_resolution_number",
}
RATEABLE_STATUSES = (MemberStatus.ACTIVE,)


def _require_commune_rights(scope: Scope, branch: Branch) -> None:
    """Candidates and ratings are roster work: district officers and the commune's
    secretary. Someone who sees the branch but may not change it gets a 403."""
    scope.require_commune(
        branch.commune_id,
        _("You may not change records of branch %(branch)s.") % {"branch": branch.name},
    )


def _check_not_future(on: datetime.date, field: str = "on") -> None:
    if on > timezone.localdate():
        raise DomainError(_("The date %(date)s is in the future.") % {"date": dmy(on)}, field=field)


def _lock_candidate(candidate: Candidate) -> Candidate:
    # Two secretaries recording the same step at once would both see it missing;
    # the row lock makes the second wait and then find it recorded.
    return Candidate.objects.select_for_update().select_related("branch").get(pk=candidate.pk)


def _check_next_step(candidate: Candidate, step: str) -> None:
    if candidate.withdrawn_on is not None:
        raise DomainError(
            _("%(name)s has withdrawn; no further step can be recorded.")
            % {"name": candidate.full_name}
        )
    if getattr(candidate, STEP_FIELD[step]) is not None:
        raise DomainError(
            _("The step “%(step)s” is already recorded for %(name)s.")
            % {"step": CandidateStep(step).label, "name": candidate.full_name}
        )
    expected = candidate.next_step
    # Not withdrawn, and this step not recorded yet: some step is still to come.
    assert expected is not None
    if expected != step:
        raise DomainError(
            _("Steps are recorded in order: record “%(expected)s” before “%(step)s”.")
            % {"expected": CandidateStep(expected).label, "step": CandidateStep(step).label}
        )


def _check_after_previous(candidate: Candidate, step: str, on: datetime.date) -> None:
    fields = [field for _step, field in CANDIDATE_STEP_DATES]
    index = fields.index(STEP_FIELD[step])
    if index == 0:
        return
    previous = getattr(candidate, fields[index - 1])
    if on < previous:
        raise DomainError(
            _("The date %(date)s is before the previous step (%(previous)s).")
            % {"date": dmy(on), "previous": dmy(previous)},
            field="on",
        )


def _open_step(*, by, candidate: Candidate, step: str, on: datetime.date) -> Candidate:
    """Lock the candidate and check that `by` may record `step` on `on`: the
    commune's rights, the step is the next one, the date is not in the future and
    not before the previous step's. Returns the locked, fresh candidate."""
    candidate = _lock_candidate(candidate)
    _require_commune_rights(scope_for(by), candidate.branch)
    _check_next_step(candidate, step)
    _check_not_future(on)
    _check_after_previous(candidate, step, on)
    return candidate


def _record(candidate: Candidate, step: str, by) -> None:
    CandidateStepRecord.objects.create(candidate=candidate, step=step, recorded_by=by)


@transaction.atomic
def candidate_create(
    *,
    by,
    branch: Branch,
    full_name: str,
    citizen_id: str,
    birth_date: datetime.date,
    gender: str,
    ethnicity: str,
    residence_village: Village,
) -> Candidate:
    """Start following a person towards admission in `branch`."""
    scope = scope_for(by)
    _require_commune_rights(scope, branch)
    branch_check_accepts(branch, timezone.localdate(), field="branch")
    if residence_village.commune_id != branch.commune_id:
        raise DomainError(
            _("The village of residence is in another commune."), field="residence_village"
        )
    if Member.objects.filter(citizen_id=citizen_id).exists():
        raise DomainError(
            _("A Party member with this citizen ID already exists."), field="citizen_id"
        )
    if Candidate.objects.open().filter(citizen_id=citizen_id).exists():
        raise DomainError(_("This person is already a candidate."), field="citizen_id")
    candidate = Candidate(
        branch=branch,
        full_name=full_name.strip(),
        citizen_id=citizen_id,
        birth_date=birth_date,
        gender=gender,
        ethnicity=ethnicity,
        residence_village=residence_village,
    )
    try:
        candidate.full_clean()
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from exc
    candidate.save()
    _record(candidate, CandidateStep.REGISTERED, by)
    return candidate


@audited("candidate_step", subject="candidate")
@transaction.atomic
def candidate_step_record(
    *, by, candidate: Candidate, step: str, on: datetime.date, number: str = ""
) -> Candidate:
    """Record one of the plain dated steps (certificate, application, personal
    history, verification, branch and commune resolutions), in order."""
    if step not in SIMPLE_STEPS:
        raise DomainError(_("This step is recorded with its own form."))
    candidate = _open_step(by=by, candidate=candidate, step=step, on=on)
    setattr(candidate, STEP_FIELD[step], on)
    fields = [STEP_FIELD[step]]
    if step in STEP_NUMBER_FIELD:
        setattr(candidate, STEP_NUMBER_FIELD[step], number.strip())
        fields.append(STEP_NUMBER_FIELD[step])
    candidate.save(update_fields=fields)
    _record(candidate, step, by)
    return candidate


def introducer_refusal(
    *, candidate: Candidate, member: Member, since: datetime.date, on: datetime.date
) -> str | None:
    """Why `member` cannot introduce `candidate` on `on`, or None if they can."""
    if member.full_on is None or member.full_on > on or member.status != MemberStatus.ACTIVE:
        return _(
            "%(name)s is not a full member in good standing and cannot introduce a candidate."
        ) % {"name": member.full_name}
    on_roster = Membership.objects.roster(candidate.branch, on).filter(member=member).exists()
    if not on_roster:
        return _("%(name)s is not a member of branch %(branch)s.") % {
            "name": member.full_name,
            "branch": candidate.branch.name,
        }
    if add_years(since, 1) > on:
        return _(
            "%(name)s has worked with the candidate for less than a year (since %(date)s)."
        ) % {
            "name": member.full_name,
            "date": dmy(since),
        }
    return None


@audited("candidate_step", subject="candidate")
@transaction.atomic
def candidate_introducers_record(
    *,
    by,
    candidate: Candidate,
    introducers: Sequence[tuple[Member, datetime.date]],
    on: datetime.date,
) -> Candidate:
    """Record the two introducers, each with the date since which they have worked
    with the candidate. Each must be a full, active member on the branch roster who
    has worked with the candidate for at least a year; anyone else is refused."""
    candidate = _open_step(by=by, candidate=candidate, step=CandidateStep.INTRODUCERS, on=on)
    if len(introducers) != 2:
        raise DomainError(_("A candidate needs exactly two introducers."))
    if introducers[0][0].pk == introducers[1][0].pk:
        raise DomainError(_("The two introducers must be two different people."))
    for member, since in introducers:
        refusal = introducer_refusal(candidate=candidate, member=member, since=since, on=on)
        if refusal:
            raise DomainError(refusal)
    for member, since in introducers:
        CandidateIntroducer.objects.create(
            candidate=candidate, member=member, worked_together_since=since
        )
    candidate.introducers_on = on
    candidate.save(update_fields=["introducers_on"])
    _record(candidate, CandidateStep.INTRODUCERS, by)
    return candidate


@audited("candidate_step", subject="candidate")
@transaction.atomic
def candidate_decision_record(
    *, by, candidate: Candidate, number: str, on: datetime.date
) -> Candidate:
    """Record the admission decision (number and date). Party age counts from it."""
    candidate = _open_step(by=by, candidate=candidate, step=CandidateStep.DECISION, on=on)
    number = number.strip()
    if not number:
        raise DomainError(_("Give the number of the admission decision."), field="number")
    if on < add_years(candidate.birth_date, settings.MINIMUM_ADMISSION_AGE):
        raise DomainError(
            _("A member must be at least %(age)d years old at admission.")
            % {"age": settings.MINIMUM_ADMISSION_AGE},
            field="on",
        )
    candidate.decision_on = on
    candidate.decision_number = number
    candidate.save(update_fields=["decision_on", "decision_number"])
    _record(candidate, CandidateStep.DECISION, by)
    return candidate


@audited("candidate_admit", subject="candidate")
@transaction.atomic
def candidate_admit(*, by, candidate: Candidate, on: datetime.date) -> Member:
    """Hold the admission ceremony on `on`: the candidate becomes a probationary
    member (admitted on the decision date, in the branch from the ceremony date).
    All or nothing: the member, the membership and the candidate's step together."""
    candidate = _open_step(by=by, candidate=candidate, step=CandidateStep.CEREMONY, on=on)
    if Member.objects.filter(citizen_id=candidate.citizen_id).exists():
        raise DomainError(_("A Party member with this citizen ID already exists."))
    # The ceremony is the step after the decision (_open_step): it is dated.
    assert candidate.decision_on is not None
    member = Member(
        citizen_id=candidate.citizen_id,
        full_name=candidate.full_name,
        gender=candidate.gender,
        birth_date=candidate.birth_date,
        ethnicity=candidate.ethnicity,
        residence_village=candidate.residence_village,
        admitted_on=candidate.decision_on,
    )
    try:
        member.full_clean(exclude=["branch"])
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from exc
    member = member_create(member=member, branch=candidate.branch, since=on)
    candidate.ceremony_on = on
    candidate.member = member
    candidate.save(update_fields=["ceremony_on", "member"])
    _record(candidate, CandidateStep.CEREMONY, by)
    return member


@audited("candidate_withdraw", subject="candidate")
@transaction.atomic
def candidate_withdraw(*, by, candidate: Candidate, on: datetime.date, reason: str) -> Candidate:
    """Stop following a candidate (they gave up, moved away, were not approved)."""
    candidate = _lock_candidate(candidate)
    _require_commune_rights(scope_for(by), candidate.branch)
    if not candidate.is_open:
        raise DomainError(
            _("%(name)s is no longer in the pipeline.") % {"name": candidate.full_name}
        )
    _check_not_future(on)
    if not reason.strip():
        raise DomainError(_("Give the reason for the withdrawal."), field="reason")
    candidate.withdrawn_on = on
    candidate.withdrawal_reason = reason.strip()
    candidate.save(update_fields=["withdrawn_on", "withdrawal_reason"])
    return candidate


def _probation_started_on(member: Member) -> datetime.date:
    candidate = Candidate.objects.filter(member=member).only("ceremony_on").first()
    # Members registered before the pipeline existed have no ceremony on record:
    # their probation counts from the admission decision.
    if candidate is None:
        return member.admitted_on
    # The table's constraint: a candidate who became a member had the ceremony.
    assert candidate.ceremony_on is not None
    return candidate.ceremony_on


@audited("member_recognize_full", subject="member")
@transaction.atomic
def member_recognize_full(
    *,
    by,
    member: Member,
    branch_voted_on: datetime.date,
    decision_number: str,
    decision_on: datetime.date,
) -> Member:
    """Recognise a probationary member as full after 12 months' probation: records
    the branch vote and the decision, and sets the date made full (the decision date)."""
    member = lock_member(member.pk)  # two recognitions of one member queue up here
    _require_commune_rights(scope_for(by), member.branch)
    if member.full_on is not None:
        raise DomainError(_("%(name)s is already a full member.") % {"name": member.full_name})
    if member.status == MemberStatus.LEFT:
        raise DomainError(_("%(name)s has left the Party.") % {"name": member.full_name})
    _check_not_future(decision_on, field="decision_on")
    ends = probation_ends_on(_probation_started_on(member))
    if branch_voted_on < ends:
        raise DomainError(
            _("The probation of %(name)s ends on %(date)s; the branch can vote from that day.")
            % {"name": member.full_name, "date": dmy(ends)},
            field="branch_voted_on",
        )
    if decision_on < branch_voted_on:
        raise DomainError(
            _("The decision cannot come before the branch vote."), field="decision_on"
        )
    if not decision_number.strip():
        raise DomainError(_("Give the number of the decision."), field="decision_number")
    FullMembershipRecognition.objects.create(
        member=member,
        branch_voted_on=branch_voted_on,
        decision_number=decision_number.strip(),
        decision_on=decision_on,
        recorded_by=by,
    )
    member.full_on = decision_on
    member.version += 1
    member.save(update_fields=["full_on", "version"])
    return member


def rating_roster_date(year: int, today: datetime.date | None = None) -> datetime.date:
    """Whose rating is due for `year`: the roster at the end of the year (or today,
    for the year still running)."""
    today = today or timezone.localdate()
    return min(datetime.date(year, 12, 31), today)


def rateable_members(branch: Branch, year: int):
    """Members rated by `branch` for `year`: its official roster at the end of the
    year, active members only (exempt and suspended members are not rated)."""
    on = rating_roster_date(year)
    member_ids = Membership.objects.roster(branch, on).official().values("member_id")
    return Member.objects.filter(pk__in=member_ids, status__in=RATEABLE_STATUSES)


@audited("ratings", subject="branch")
@transaction.atomic
def evaluations_record(
    *,
    by,
    branch: Branch,
    year: int,
    member_ratings: Mapping[int, str],
    branch_rating: str | None,
) -> int:
    """Record (or correct) the year's ratings of a branch and of its members, from
    the one form the commune secretary fills in. Returns how many were saved.
    Members who are exempt, suspended or not on the roster are refused."""
    _require_commune_rights(scope_for(by), branch)
    if year > timezone.localdate().year:
        raise DomainError(_("The year %(year)d has not begun.") % {"year": year})
    for rating in [*member_ratings.values(), branch_rating]:
        if rating and rating not in Rating.values:
            raise DomainError(_("Unknown rating."))
    rateable = {m.pk: m for m in rateable_members(branch, year)}
    refused = [pk for pk in member_ratings if pk not in rateable]
    if refused:
        names = ", ".join(Member.objects.filter(pk__in=refused).values_list("full_name", flat=True))
        raise DomainError(
            _(
                "Not rated by this branch for %(year)d (not on its roster, exempt or suspended): %(names)s."
            )
            % {"year": year, "names": names or "?"}
        )
    saved = 0
    # update_or_create inside the transaction; the unique constraints settle a race
    # between two secretaries saving the same form (the second gets an error page,
    # not a duplicate rating).
    for member_id, rating in member_ratings.items():
        if not rating:
            continue
        Evaluation.objects.update_or_create(
            member_id=member_id,
            year=year,
            defaults={"branch": branch, "rating": rating, "recorded_by": by},
        )
        saved += 1
    if branch_rating:
        Evaluation.objects.update_or_create(
            branch=branch,
            member=None,
            year=year,
            defaults={"rating": branch_rating, "recorded_by": by},
        )
        saved += 1
    return saved
