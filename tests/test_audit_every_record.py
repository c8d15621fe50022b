"""Every change reaches the audit trail (issue 16): transfers and their steps,
attendance marks, meetings' tasks and reviews, addenda, dissolution batches and
moves, candidates' steps and ratings; each operation that writes several rows
is ONE entry with its items, by the user who did it."""

import datetime

from branches.access import scope_for
from meetings.models import Meeting, MeetingKind
from meetings.services.attendance import meeting_mark_attendance, meeting_open_roll
from meetings.services.meetings import meeting_create
from meetings.services.tasks import task_create, task_review
from members.models import CandidateStep
from members.services import growth
from members.services.dissolutions import branch_dissolve
from members.services.transfers import transfer_issue_letter, transfer_receive, transfer_request
from pacnam.models import AuditEntry
from tests.growth_helpers import advance, make_candidate

D = datetime.date


def _after(seq):
    return list(AuditEntry.objects.filter(seq__gt=seq).order_by("seq"))


def _last():
    last = AuditEntry.objects.order_by("-seq").first()
    return last.seq if last else 0


def test_a_transfer_and_each_of_its_steps_are_in_the_trail(world, rf):
    before = _last()
    with _as_request(rf, world.secretary):
        transfer = transfer_request(
            on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.branch2
        )
        transfer_issue_letter(transfer=transfer, by=world.secretary, on=D(2019, 4, 2))
        transfer_receive(transfer=transfer, by=world.secretary, on=D(2019, 4, 3))
    entries = _after(before)
    requested = [e for e in entries if e.object_type == "members.transfer" and e.action == "create"]
    assert len(requested) == 1 and requested[0].actor_id == world.secretary.pk
    letter = [e for e in entries if e.object_type == "members.transfer" and e.action == "update"]
    assert letter and letter[0].after["status"] == "letter_issued"
    # The receipt moves the member: one entry with the transfer, the memberships and the member.
    receipt = entries[-1]
    assert receipt.action == "transfer_receive" and receipt.actor_id == world.secretary.pk
    assert {"members.transfer", "members.membership", "members.member"} <= {
        i["type"] for i in receipt.items
    }


def test_a_dissolution_batch_and_its_moves_are_items_of_its_entry(world):
    before = _last()
    branch_dissolve(branch=world.office, decision="15-QĐ/ĐU", on=D(2019, 4, 1), by=world.secretary)
    [entry] = _after(before)
    types = {i["type"] for i in entry.items}
    assert {"members.dissolutionbatch", "members.dissolutionmove"} <= types


def test_the_roll_and_the_attendance_marks_are_one_entry_each_by_the_secretary(world, rf):
    user = world.branch_secretary
    scope = scope_for(user)
    meeting = meeting_create(
        scope=scope,
        user=user,
        meeting=Meeting(branch=world.branch, date=D(2019, 5, 10), kind=MeetingKind.REGULAR),
    )
    before = _last()
    with _as_request(rf, user):
        meeting_open_roll(scope=scope, meeting=meeting)
    [roll] = _after(before)
    assert roll.action == "meeting_roll_open" and roll.actor_id == user.pk
    assert [i["type"] for i in roll.items].count(
        "meetings.attendance"
    ) == 1  # one member on the roll
    before = _last()
    with _as_request(rf, user):
        meeting_mark_attendance(
            scope=scope, meeting=meeting, marks={world.member.pk: ("excused", "Ốm")}
        )
    [marks] = _after(before)
    assert marks.action == "meeting_attendance" and marks.actor_id == user.pk
    [item] = [i for i in marks.items if i["type"] == "meetings.attendance"]
    assert item["after"] == {"presence": "excused", "reason": "Ốm"}
    assert item["before"] == {"presence": "", "reason": ""}


def test_tasks_reviews_and_addenda_are_in_the_trail(world):
    user = world.branch_secretary
    scope = scope_for(user)
    april = meeting_create(
        scope=scope,
        user=user,
        meeting=Meeting(branch=world.branch, date=D(2019, 4, 10), kind=MeetingKind.REGULAR),
    )
    task = task_create(
        scope=scope,
        meeting=april,
        description="Tu sửa đường thôn",
        due_on=D(2019, 5, 1),
        assignees=[world.member],
    )
    may = meeting_create(
        scope=scope,
        user=user,
        meeting=Meeting(branch=world.branch, date=D(2019, 5, 10), kind=MeetingKind.REGULAR),
    )
    before = _last()
    task_review(scope=scope, meeting=may, outcomes={task.pk: ("done", "")})
    [review] = _after(before)
    assert review.action == "task_review"
    assert {"meetings.taskreview", "meetings.task"} <= {i["type"] for i in review.items}
    assert AuditEntry.objects.filter(action="task_create").exists()


def test_a_candidates_steps_and_the_ratings_are_in_the_trail(world):
    candidate = make_candidate(world)
    before = _last()
    advance(world, candidate, CandidateStep.APPLICATION)
    steps = _after(before)
    assert [e.action for e in steps] == ["candidate_step", "candidate_step"]
    assert all(
        {"members.candidate", "members.candidatesteprecord"} <= {i["type"] for i in e.items}
        for e in steps
    )
    before = _last()
    growth.evaluations_record(
        by=world.secretary,
        branch=world.branch,
        year=2019,
        member_ratings={world.member.pk: "good"},
        branch_rating="good",
    )
    [ratings] = _after(before)
    assert ratings.action == "ratings" and ratings.actor_id == world.secretary.pk
    assert [i["type"] for i in ratings.items].count("members.evaluation") == 2


class _as_request:
    """A web request's user, as simple-history's middleware keeps it."""

    def __init__(self, rf, user):
        self.request = rf.get("/")
        self.request.user = user

    def __enter__(self):
        from simple_history.models import HistoricalRecords

        HistoricalRecords.context.request = self.request

    def __exit__(self, *exc):
        from simple_history.models import HistoricalRecords

        del HistoricalRecords.context.request
