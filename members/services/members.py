"""Registering members, moving them between branches, and their leaving.

Each function is keyword-only, runs in one transaction and validates before it
writes; a broken rule raises `DomainError` with a message for the user.
Transfers and dissolutions build on `membership_move`.
"""

import datetime

from django.db import connection, transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from branches.models import Branch
from branches.services.units import (
    branch_check_accepts,
    branch_check_accepts_many,
    village_check_accepts,
)
from pacnam.audit.trail import current_batch
from pacnam.lib.bulk import copy_history, copy_insert
from pacnam.lib.dates import dmy
from pacnam.lib.errors import DomainError
from pacnam.lib.text import clean_text_fields, fold

from ..models import (
    EndReason,
    Member,
    Membership,
    MembershipKind,
    MemberStatus,
)


def _check_branch_accepts(branch: Branch, on: datetime.date) -> None:
    """A branch takes no one on a day it did not exist, or when its commune of that
    day had ceased."""
    branch_check_accepts(branch, on)


@transaction.atomic
def member_create(*, member: Member, branch: Branch, since: datetime.date | None = None) -> Member:
    """Register a member (already validated with full_clean, unsaved) and open their
    official membership of `branch` from `since` (default: the admission date)."""
    since = since or member.admitted_on
    if since < member.admitted_on:
        raise DomainError(_("A membership cannot start before the admission date."), field="since")
    _check_branch_accepts(branch, since)
    village = member.residence_village
    if village.valid_to is not None and village.valid_to < since:
        village_check_accepts(village, since, field="residence_village")
    member.branch = branch
    member.save()
    Membership.objects.create(
        member=member, branch=branch, kind=MembershipKind.OFFICIAL, started_on=since
    )
    return member


def lock_member(member_id: int) -> Member:
    """Re-read a member with a row lock, so two moves of one member queue up.

    Without the lock two secretaries moving the same member at once would both
    read the same open membership and both close it; the partial unique index
    would then refuse the second insert with an IntegrityError instead of a
    clear message. With it, the second one waits and sees the first one's move.
    """
    # No select_related here: on PostgreSQL a row re-read after waiting for the
    # lock is re-joined with the branch row as it was *before* the wait, so a
    # member whose branch the first transaction changed would vanish from the
    # result (DoesNotExist) instead of being returned with its new branch.
    return Member.objects.select_for_update().get(pk=member_id)


@transaction.atomic
def membership_move(
    *,
    member: Member,
    to_branch: Branch,
    on: datetime.date,
    end_reason: str = EndReason.TRANSFERRED,
) -> Membership:
    """Close the member's open official membership on `on` and open one in `to_branch`.

    The one primitive every official move (transfer, dissolution, undo) goes
    through: history is never rewritten, only closed and opened.
    """
    member = lock_member(member.pk)
    if member.status == MemberStatus.LEFT:
        raise DomainError(
            _("%(name)s has left the Party and cannot be moved.") % {"name": member.full_name}
        )
    current = (
        Membership.objects.select_for_update()
        .filter(member=member, kind=MembershipKind.OFFICIAL, ended_on__isnull=True)
        .first()
    )
    if current is None:
        raise DomainError(_("%(name)s has no current branch.") % {"name": member.full_name})
    if current.branch_id == to_branch.pk:
        raise DomainError(
            _("%(name)s is already in branch %(branch)s.")
            % {"name": member.full_name, "branch": to_branch.name}
        )
    if on < current.started_on:
        raise DomainError(
            _("The move date is before %(name)s joined their current branch (%(date)s).")
            % {"name": member.full_name, "date": dmy(current.started_on)}
        )
    _check_branch_accepts(to_branch, on)
    current.ended_on = on
    current.end_reason = end_reason
    current.save(update_fields=["ended_on", "end_reason"])
    new = Membership.objects.create(
        member=member, branch=to_branch, kind=MembershipKind.OFFICIAL, started_on=on
    )
    # Through save(), not update(): history and the audit trail see the move,
    # and the version bump turns an edit form opened before it into a conflict
    # instead of a silent revert of the branch.
    member.branch = to_branch
    member.version += 1
    member.save(update_fields=["branch", "version"])
    return new


@transaction.atomic
def member_leave(*, member: Member, on: datetime.date, reason: str) -> Member:
    """A member leaves the Party (death, removal, transfer out): every open membership
    ends on `on`; the member is kept, with the date and the reason."""
    member = lock_member(member.pk)
    if member.status == MemberStatus.LEFT:
        raise DomainError(_("%(name)s has already left.") % {"name": member.full_name})
    if on < member.admitted_on:
        raise DomainError(_("The leaving date is before the admission date."))
    end_reason = reason if reason in EndReason.values else EndReason.OTHER
    for membership in Membership.objects.select_for_update().filter(member=member).open():
        membership.ended_on = max(on, membership.started_on)
        membership.end_reason = end_reason
        membership.save(update_fields=["ended_on", "end_reason"])
    # Temporary attachments planned to end later are cut short too.
    for attachment in Membership.objects.filter(
        member=member, kind=MembershipKind.TEMPORARY, ended_on__gt=on
    ):
        attachment.ended_on = max(on, attachment.started_on)
        attachment.end_reason = end_reason
        attachment.save(update_fields=["ended_on", "end_reason"])
    member.status = MemberStatus.LEFT
    member.left_on = on
    member.left_reason = reason
    member.version += 1
    member.save(update_fields=["status", "left_on", "left_reason", "version"])
    return member


@transaction.atomic
def member_create_many(
    *, rows: list[tuple[Member, Branch, datetime.date | None]], batch_size: int = 1000
) -> list[Member]:
    """member_create for many members at once (the registry import): the same rules,
    each member validated beforehand, but written with bulk inserts (history rows
    included) so 100,000 members take seconds, not minutes. All or nothing."""

    starts = [since or member.admitted_on for member, _branch, since in rows]
    for (member, _branch, _since), since in zip(rows, starts, strict=True):
        if since < member.admitted_on:
            raise DomainError(
                _("A membership cannot start before the admission date."), field="since"
            )
    # Every branch takes its members on their days, checked in one query.
    branch_check_accepts_many(
        [(branch, since) for (_m, branch, _s), since in zip(rows, starts, strict=True)]
    )
    members = []
    for member, branch, _since in rows:
        member.branch = branch
        # Bulk inserts skip Member.save: its cleaning and folding are done here.
        clean_text_fields(member, Member.TEXT_FIELDS, names_of_people=("full_name",))
        member.folded_name = fold(member.full_name)
        members.append(member)
    if connection.vendor == "postgresql":
        # COPY: a fraction of bulk_create's time for the members, memberships and
        # their history rows of a 100,000-row import; the same rows.
        batch_size = 10000
        created = []
        for start in range(0, len(members), batch_size):
            batch = copy_insert(Member, members[start : start + batch_size])
            copy_history(Member, batch)
            memberships = copy_insert(
                Membership,
                [
                    Membership(
                        member=member,
                        branch=member.branch,
                        kind=MembershipKind.OFFICIAL,
                        started_on=since,
                    )
                    for member, since in zip(batch, starts[start : start + batch_size], strict=True)
                ],
            )
            copy_history(Membership, memberships)
            _keep_states(batch, memberships)
            created.extend(batch)
        return created
    created = []
    for start in range(0, len(members), batch_size):
        batch = bulk_create_with_history(members[start : start + batch_size], Member)
        memberships = [
            Membership(
                member=member, branch=member.branch, kind=MembershipKind.OFFICIAL, started_on=since
            )
            for member, since in zip(batch, starts[start : start + batch_size], strict=True)
        ]
        bulk_create_with_history(memberships, Membership)
        _keep_states(batch, memberships)
        created.extend(batch)
    return created


def _keep_states(*groups) -> None:
    """Rows written in bulk send no signal: their states go into the batch's
    entry here, so that `audit_verify --records` can check them later."""
    batch = current_batch()
    if batch is not None:
        for group in groups:
            for obj in group:
                batch.keep_state(obj)
