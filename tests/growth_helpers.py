"""Factories for the admission-pipeline tests (issue 6), on top of conftest's world."""

import datetime
import itertools

from members.models import Candidate, CandidateStep
from members.services import growth
from tests.conftest import make_member

D = datetime.date
_ids = itertools.count(1)

# A candidate who goes the whole way in 2024, one step a month.
STEP_DATES = {
    CandidateStep.AWARENESS: D(2024, 1, 10),
    CandidateStep.APPLICATION: D(2024, 2, 1),
    CandidateStep.HISTORY: D(2024, 3, 1),
    CandidateStep.INTRODUCERS: D(2024, 4, 1),
    CandidateStep.VERIFICATION: D(2024, 5, 2),
    CandidateStep.BRANCH_RESOLUTION: D(2024, 6, 3),
    CandidateStep.COMMUNE_RESOLUTION: D(2024, 7, 1),
    CandidateStep.DECISION: D(2024, 8, 1),
    CandidateStep.CEREMONY: D(2024, 8, 20),
}
ORDER = list(STEP_DATES)


def make_candidate(world, branch=None, name="Hà Thị Mai", by=None, **kw) -> Candidate:
    data = dict(
        branch=branch or world.branch,
        full_name=name,
        citizen_id=f"7{next(_ids):011d}",
        birth_date=D(2000, 1, 1),
        gender="female",
        ethnicity="Tày",
        residence_village=(branch or world.branch).village or world.village,
    )
    data.update(kw)
    return growth.candidate_create(by=by or world.district, **data)


def introducer_pair(world, branch=None):
    """Two full members of the branch who have worked with the candidate since 2020."""
    branch = branch or world.branch
    first = world.member if branch == world.branch else make_member(branch, name="Nông Văn Một")
    second = make_member(branch, name="Lục Thị Hai", village=branch.village)
    return [(first, D(2020, 1, 1)), (second, D(2020, 1, 1))]


def advance(world, candidate, upto, dates=None, by=None):
    """Record every step from the candidate's next one up to `upto` included."""
    dates = {**STEP_DATES, **(dates or {})}
    by = by or world.secretary
    result = candidate
    for step in ORDER[ORDER.index(candidate.next_step) : ORDER.index(upto) + 1]:
        on = dates[step]
        if step == CandidateStep.INTRODUCERS:
            candidate = growth.candidate_introducers_record(
                by=by,
                candidate=candidate,
                introducers=introducer_pair(world, candidate.branch),
                on=on,
            )
        elif step == CandidateStep.DECISION:
            candidate = growth.candidate_decision_record(
                by=by, candidate=candidate, number="12-QĐ/HU", on=on
            )
        elif step == CandidateStep.CEREMONY:
            result = growth.candidate_admit(by=by, candidate=candidate, on=on)
            candidate.refresh_from_db()
        else:
            candidate = growth.candidate_step_record(by=by, candidate=candidate, step=step, on=on)
        if step != CandidateStep.CEREMONY:
            result = candidate
    return result
