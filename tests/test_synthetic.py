"""generate_synthetic (issue 7): a registry whose history keeps the registry's own rules."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Q

from branches.models import Branch, BranchKind, Commune
from members.models import EndReason, Member, Membership, MembershipKind, MemberStatus
from pacnam.lib.text import fold


def _generate(n=300, seed=7, **kw):
    call_command("generate_synthetic", members=n, seed=seed, verbosity=0, **kw)


def _snapshot():
    return [
        (
            m.citizen_id,
            m.full_name,
            m.branch.code,
            [
                (s.branch.code, s.kind, s.started_on, s.ended_on, s.end_reason)
                for s in m.memberships.select_related("branch").order_by("started_on", "pk")
            ],
        )
        for m in Member.objects.select_related("branch").order_by("citizen_id")
    ]


@pytest.mark.django_db
def test_synthetic_registry_keeps_the_membership_rules():
    _generate(300)
    assert Member.objects.count() == 300
    members = {m.pk: m for m in Member.objects.all()}
    by_member: dict[int, list[Membership]] = {}
    for s in Membership.objects.select_related("branch").order_by("started_on", "pk"):
        by_member.setdefault(s.member_id, []).append(s)
    several = 0
    for pk, member in members.items():
        assert member.folded_name == fold(member.full_name)
        official = [s for s in by_member[pk] if s.kind == MembershipKind.OFFICIAL]
        several += len(official) > 1
        open_ = [s for s in official if s.ended_on is None]
        if member.status == MemberStatus.LEFT:
            assert open_ == [] and member.left_on and member.left_reason
            assert official[-1].ended_on == member.left_on
        else:
            assert len(open_) == 1 and open_[0] is official[-1]
        # Member.branch is the current (or last) official branch.
        assert member.branch_id == official[-1].branch_id
        assert official[0].started_on >= member.admitted_on
        for before, after in zip(official, official[1:], strict=False):
            # Consecutive, without overlap or gap, each closed with its reason.
            assert before.ended_on == after.started_on and before.end_reason
            assert before.branch_id != after.branch_id
        for s in by_member[pk]:
            assert s.ended_on is None or s.ended_on >= s.started_on
            assert s.branch.founded_on <= s.started_on
            if s.branch.dissolved_on:
                assert s.ended_on is not None and s.ended_on <= s.branch.dissolved_on
    assert several > 100  # histories, not one row each
    # The story's policy: office branches dissolved with their cadres moved out.
    moved = Membership.objects.filter(end_reason=EndReason.BRANCH_DISSOLVED)
    assert moved.exists()
    assert not Membership.objects.filter(
        branch__dissolved_on__isnull=False, ended_on__isnull=True
    ).exists()
    # Proportions of a province: about 30 members per active branch.
    sizes = (
        Branch.objects.active()
        .annotate(n=Count("members", filter=~Q(members__status=MemberStatus.LEFT)))
        .values_list("n", flat=True)
    )
    assert 15 <= sum(sizes) / len(sizes) <= 45
    assert Branch.objects.filter(kind=BranchKind.COMMUNE_OFFICE).exists()
    # Each dissolution is a batch whose moves are the memberships it closed and opened.
    from members.models import DissolutionMove, Transfer, TransferStatus

    moves = list(
        DissolutionMove.objects.select_related("batch", "from_membership", "new_membership")
    )
    assert len(moves) == moved.count()
    for move in moves:
        assert move.from_membership.end_reason == EndReason.BRANCH_DISSOLVED
        assert move.from_membership.branch_id == move.batch.branch_id
        assert (
            move.from_membership.ended_on
            == move.batch.dissolved_on
            == move.new_membership.started_on
        )
        assert move.new_membership.branch_id == move.to_branch_id
    # Recent moves have their transfer record, received on the day of the move.
    received = list(Transfer.objects.filter(status=TransferStatus.RECEIVED))
    assert received
    for transfer in received:
        closed = Membership.objects.get(
            member=transfer.member,
            branch=transfer.from_branch,
            ended_on=transfer.received_on,
            kind=MembershipKind.OFFICIAL,
        )
        assert closed.end_reason == EndReason.TRANSFERRED
        assert Membership.objects.filter(
            member=transfer.member, branch=transfer.to_branch, started_on=transfer.received_on
        ).exists()
        assert transfer.requested_on <= transfer.letter_date <= transfer.received_on


@pytest.mark.django_db
def test_synthetic_meetings_call_the_roster_of_their_day():
    from meetings.models import Attendance, Meeting, Task, TaskStatus

    _generate(200, seed=5)
    meetings = list(Meeting.objects.all())
    assert meetings and all(m.chair_id != m.secretary_id for m in meetings if m.chair_id)
    for meeting in meetings:
        on_roll = set(meeting.attendance.values_list("member_id", flat=True))
        roster = set(
            Membership.objects.roster(meeting.branch, meeting.date)
            .filter(kind=MembershipKind.OFFICIAL)
            .values_list("member_id", flat=True)
        )
        assert on_roll == roster, meeting
    assert (
        Attendance.objects.filter(presence="present").count()
        > Attendance.objects.filter(presence="absent").count()
    )
    # Tasks set at the earlier meeting are closed at the next; the last ones are open.
    assert Task.objects.filter(status=TaskStatus.DONE, closed_at__isnull=False).exists()
    assert Task.objects.filter(status=TaskStatus.OPEN, closed_at__isnull=True).exists()
    assert all(t.assignees.exists() for t in Task.objects.all())


@pytest.mark.django_db
def test_a_seed_gives_the_same_registry():
    _generate(120, seed=3)
    first = _snapshot()
    from meetings.models import Attendance, Meeting, Task, TaskReview
    from members.models import DissolutionBatch, DissolutionMove, Transfer

    for model in (
        TaskReview,
        Task.assignees.through,
        Task,
        Attendance,
        Meeting,
        Transfer,
        DissolutionMove,
        DissolutionBatch,
        Membership,
        Member,
        Branch,
    ):
        model.objects.all().delete()
    from branches.models import Village

    Village.objects.all().delete()
    Commune.objects.all().delete()
    _generate(120, seed=3)
    assert _snapshot() == first


def test_it_refuses_a_registry_with_data_unless_forced(world):
    before = Member.objects.count()
    with pytest.raises(CommandError):
        _generate(50)
    assert Member.objects.count() == before
    _generate(50, force=True)
    assert Member.objects.count() == before + 50
    # The existing members are untouched and the new ones got fresh codes and ids.
    assert Member.objects.filter(pk=world.member.pk, full_name="Hoàng Văn Mạnh").exists()
    assert Commune.objects.filter(code="01885").count() == 1


@pytest.mark.django_db
def test_the_dashboard_tallies_of_a_generated_registry_match_a_direct_count():
    """On PostgreSQL the load turns the tally triggers off and recounts at the end
    (members 0005, 0007): the recount must give what the triggers would, and the
    triggers must be on again afterwards."""
    from branches.access import ALL, Scope
    from members.selectors.growth import _admission_totals
    from overview.selectors.dashboard import member_totals
    from tests.conftest import make_member

    # The whole generated registry (its communes belong to no district: a province's).
    district = Scope(level=ALL)
    _generate(400, seed=11)

    def direct_totals():
        current = Member.objects.exclude(status=MemberStatus.LEFT)
        return {
            "total": current.count(),
            "full": current.filter(full_on__isnull=False).count(),
            "probationary": current.filter(full_on__isnull=True).count(),
            "cadres": current.filter(is_commune_cadre=True).count(),
        }

    years = list(range(1950, 2031))

    def direct_admissions():
        counted = Member.objects.filter(admitted_on__year__in=years).values_list(
            "admitted_on__year"
        )
        return dict(counted.annotate(n=Count("pk")).order_by())

    assert member_totals(district) == direct_totals()
    assert {year: n for year, n in _admission_totals(district, years) if n} == direct_admissions()
    branch = Branch.objects.filter(dissolved_on__isnull=True, kind=BranchKind.VILLAGE).first()
    make_member(branch, name="Người Đến Sau", admitted_on=datetime.date(2020, 5, 4), full_on=None)
    assert member_totals(district) == direct_totals()
    assert {year: n for year, n in _admission_totals(district, years) if n} == direct_admissions()
