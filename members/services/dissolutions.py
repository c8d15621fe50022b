"""Dissolving a branch: the plan, the batch of moves, and its undo."""

import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.access import acting_scope, scope_for
from branches.models import Branch
from pacnam.audit.trail import audit_batch
from pacnam.lib.dates import dmy
from pacnam.lib.errors import DomainError, NotAllowed

from ..models import (
    DissolutionBatch,
    DissolutionMove,
    EndReason,
    Member,
    Membership,
    MembershipKind,
    Transfer,
)
from ..selectors.dissolutions import branch_dissolution_plan
from .members import membership_move

# --- Dissolving a branch -------------------------------------------


def branch_dissolve(
    *, branch: Branch, decision: str, on: datetime.date, by, assignments: dict | None = None
):
    """Dissolve `branch` and move every member (see _branch_dissolve), as ONE audit
    entry holding every move: the batch is reviewed later as a unit."""

    with audit_batch(
        "branch_dissolve",
        actor=by,
        subject=branch,
        description=f"{decision} · {dmy(on)}",
    ):
        return _branch_dissolve(
            branch=branch, decision=decision, on=on, by=by, assignments=assignments
        )


@transaction.atomic
def _branch_dissolve(
    *,
    branch: Branch,
    decision: str,
    on: datetime.date,
    by,
    assignments: dict | None = None,
) -> DissolutionBatch:
    """Dissolve `branch` on `on` by `decision`: one batch moving every member to
    their destination (see branch_dissolution_plan), all or nothing.

    `by` is the acting user (a commune secretary of the branch's commune or a
    district officer), or None for the system (the dissolve_branch command).
    Refused while any member is unplaced or has a transfer in progress.
    """
    scope = acting_scope(by)
    scope.require_commune(branch.commune_id, _("You may not dissolve this branch."))
    decision = (decision or "").strip()
    if not decision:
        raise DomainError(_("Give the number of the dissolution decision."), field="decision")
    # Race: a transfer out of this branch, a receipt into it or a second
    # dissolution at the same moment. The branch row is locked first, then
    # each member (in id order, as every path here does); whoever comes second
    # sees the dissolved branch or the pending transfer and is refused.
    #
    # The branch lock is NO KEY UPDATE: a transfer being requested holds its
    # member's lock and inserts a row pointing at this branch (a KEY SHARE
    # lock). A plain FOR UPDATE here would wait for that insert while the
    # transfer waits for the member we are about to lock: a deadlock.
    branch = Branch.objects.select_for_update(no_key=True).get(pk=branch.pk)
    if branch.dissolved_on is not None:  # branch.is_dissolved
        raise DomainError(
            _("Branch %(branch)s is already dissolved (%(date)s).")
            % {"branch": branch.name, "date": dmy(branch.dissolved_on)}
        )
    if branch.founded_on and on < branch.founded_on:
        raise DomainError(_("A branch cannot be dissolved before it was founded."), field="on")
    member_ids = sorted(
        Membership.objects.filter(
            branch=branch, kind=MembershipKind.OFFICIAL, ended_on__isnull=True
        ).values_list("member_id", flat=True)
    )
    list(Member.objects.select_for_update().filter(pk__in=member_ids).order_by("pk"))
    pending = list(
        Transfer.objects.in_progress()
        .filter(Q(member_id__in=member_ids) | Q(to_branch=branch))
        .select_related("member")
    )
    if pending:
        raise DomainError(
            _(
                "A transfer is in progress for %(names)s: finish or cancel it before dissolving the branch."
            )
            % {"names": ", ".join(sorted({t.member_name for t in pending}))}
        )
    attached = Membership.objects.filter(branch=branch, kind=MembershipKind.TEMPORARY).on(on)
    if attached.exists():
        raise DomainError(
            _("Some members are temporarily attached to this branch: end their attachment first.")
        )
    rows = branch_dissolution_plan(branch=branch, assignments=assignments, on=on)
    unplaced = [row.member.full_name for row in rows if row.needs_decision]
    if unplaced:
        raise DomainError(
            _("Nothing was changed: choose a branch for %(names)s.")
            % {"names": ", ".join(unplaced)}
        )
    # Every row has its destination now (none needs a decision, refused above): a
    # row left out here would be a member left in a dissolved branch.
    placed = []
    for row in rows:
        assert row.destination is not None
        placed.append((row, row.destination))
    for row, destination in placed:
        if destination.pk == branch.pk:
            raise DomainError(_("A member cannot stay in the branch being dissolved."))
        if row.decided_by_person and not scope.can_edit_commune(destination.commune_id):
            raise NotAllowed(
                _("You may not send a member to branch %(branch)s.") % {"branch": destination.name}
            )
    batch = DissolutionBatch.objects.create(
        branch=branch, decision=decision, dissolved_on=on, performed_by=by, via_command=by is None
    )
    for row, destination in placed:
        new = membership_move(
            member=row.member,
            to_branch=destination,
            on=on,
            end_reason=EndReason.BRANCH_DISSOLVED,
        )
        DissolutionMove.objects.create(
            batch=batch,
            member=row.member,
            from_membership=row.membership,
            to_branch=destination,
            new_membership=new,
            decided_by_person=row.decided_by_person,
        )
    branch.dissolved_on = on
    branch.dissolution_decision = decision
    branch.version += 1
    branch.save(update_fields=["dissolved_on", "dissolution_decision", "version"])
    return batch


def dissolution_undo(*, batch: DissolutionBatch, by) -> DissolutionBatch:
    """Undo a dissolution as a whole (see _dissolution_undo), as ONE audit entry."""

    with audit_batch(
        "dissolution_undo", actor=by, subject=batch.branch, description=batch.decision
    ):
        return _dissolution_undo(batch=batch, by=by)


@transaction.atomic
def _dissolution_undo(*, batch: DissolutionBatch, by) -> DissolutionBatch:
    """Undo a dissolution as a whole (district officers only): each member goes
    back to the dissolved branch as if never moved, and the branch is active again.
    Refused if any member of the batch has moved or left since."""
    if by is None or not scope_for(by).is_officer:
        raise NotAllowed(
            _(
                "Only an officer of the province (before 1 July 2025, of the district) may undo a dissolution."
            )
        )
    batch = DissolutionBatch.objects.select_for_update(no_key=True).get(pk=batch.pk)
    if batch.is_undone:
        raise DomainError(_("This dissolution was already undone."))
    # Race: a member of the batch being moved while the undo runs. Same lock
    # order as the dissolution: the branch, then the members in id order.
    branch = Branch.objects.select_for_update(no_key=True).get(pk=batch.branch_id)
    moves = list(
        batch.moves.select_related("member", "new_membership", "from_membership").order_by(
            "member_id"
        )
    )
    list(
        Member.objects.select_for_update()
        .filter(pk__in=[m.member_id for m in moves])
        .order_by("pk")
    )
    # Read after the locks, in two queries whatever the size of the batch.
    moved_on = set(
        Membership.objects.filter(
            pk__in=[m.new_membership_id for m in moves], ended_on__isnull=False
        ).values_list("pk", flat=True)
    )
    in_transfer = set(
        Transfer.objects.in_progress()
        .filter(member_id__in=[m.member_id for m in moves])
        .values_list("member_id", flat=True)
    )
    for move in moves:
        if move.new_membership_id in moved_on or move.member_id in in_transfer:
            raise DomainError(
                _(
                    "%(name)s has moved since the dissolution: it can no longer be undone as a whole."
                )
                % {"name": move.member.full_name}
            )
    for move in moves:
        new = move.new_membership
        new.ended_on = new.started_on  # an empty period: the move never took effect
        new.end_reason = EndReason.UNDONE
        new.save(update_fields=["ended_on", "end_reason"])
        old = move.from_membership
        old.ended_on = None
        old.end_reason = ""
        old.save(update_fields=["ended_on", "end_reason"])
        member = move.member
        member.branch = branch
        member.version += 1
        member.save(update_fields=["branch", "version"])
    branch.dissolved_on = None
    branch.dissolution_decision = ""
    branch.version += 1
    branch.save(update_fields=["dissolved_on", "dissolution_decision", "version"])
    batch.undone_at = timezone.now()
    batch.undone_by = by
    batch.save(update_fields=["undone_at", "undone_by"])
    return batch
