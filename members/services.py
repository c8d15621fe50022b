"""Writes that touch several rows of members and memberships.

Each function is keyword-only, runs in one transaction and validates before it
writes; a broken rule raises `DomainError` with a message for the user.
Transfers and dissolutions build on `membership_move`.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.access import DISTRICT, Scope, scope_for
from branches.models import Branch, BranchKind, Commune
from pacnam.errors import DomainError, NotAllowed

from .models import (
    DissolutionBatch,
    DissolutionMove,
    EndReason,
    LeftReason,
    Member,
    Membership,
    MembershipKind,
    MemberStatus,
    Transfer,
    TransferKind,
    TransferScope,
    TransferStatus,
    add_months,
)

# The scope of the management commands: they act for the district and are
# recorded as done by the system (no user).
SYSTEM_SCOPE = Scope(level=DISTRICT, title="")


def _check_branch_accepts(branch: Branch, on: datetime.date) -> None:
    if branch.dissolved_on is not None and branch.dissolved_on <= on:
        raise DomainError(
            _("Branch %(branch)s was dissolved on %(date)s and accepts no new members.")
            % {"branch": branch.name, "date": branch.dissolved_on.strftime("%d/%m/%Y")}
        )
    if branch.founded_on is not None and branch.founded_on > on:
        raise DomainError(
            _("Branch %(branch)s was founded only on %(date)s.")
            % {"branch": branch.name, "date": branch.founded_on.strftime("%d/%m/%Y")}
        )


@transaction.atomic
def member_create(*, member: Member, branch: Branch, since: datetime.date | None = None) -> Member:
    """Register a member (already validated with full_clean, unsaved) and open their
    official membership of `branch` from `since` (default: the admission date)."""
    since = since or member.admitted_on
    if since < member.admitted_on:
        raise DomainError(_("A membership cannot start before the admission date."), field="since")
    _check_branch_accepts(branch, since)
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
        raise DomainError(_("%(name)s has left the Party and cannot be moved.") % {"name": member.full_name})
    current = Membership.objects.select_for_update().filter(
        member=member, kind=MembershipKind.OFFICIAL, ended_on__isnull=True
    ).first()
    if current is None:
        raise DomainError(_("%(name)s has no current branch.") % {"name": member.full_name})
    if current.branch_id == to_branch.pk:
        raise DomainError(
            _("%(name)s is already in branch %(branch)s.") % {"name": member.full_name, "branch": to_branch.name}
        )
    if on < current.started_on:
        raise DomainError(
            _("The move date is before %(name)s joined their current branch (%(date)s).")
            % {"name": member.full_name, "date": current.started_on.strftime("%d/%m/%Y")}
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
    for attachment in Membership.objects.filter(member=member, kind=MembershipKind.TEMPORARY, ended_on__gt=on):
        attachment.ended_on = max(on, attachment.started_on)
        attachment.end_reason = end_reason
        attachment.save(update_fields=["ended_on", "end_reason"])
    member.status = MemberStatus.LEFT
    member.left_on = on
    member.left_reason = reason
    member.version += 1
    member.save(update_fields=["status", "left_on", "left_reason", "version"])
    return member


# --- Transfers (issue 3) ---------------------------------------------------
#
# Lock order, everywhere: the member, then the transfer, then a branch or a
# commune. The dissolution locks its branch, then its members; the branches
# a transfer locks are never the dissolving one's members' current branch, so
# no two code paths wait for each other in opposite orders.

INCOMING_FIELDS = (
    "citizen_id", "full_name", "gender", "birth_date", "ethnicity", "residence_village",
    "position", "is_commune_cadre", "admitted_on", "full_on", "card_number",
)
_INCOMING_DATES = ("birth_date", "admitted_on", "full_on")


def _scope_of(by) -> Scope:
    """The acting user's scope; `None` is the system (the management commands)."""
    if by is None:
        return SYSTEM_SCOPE
    return scope_for(by)


def _date(value: datetime.date | None) -> datetime.date:
    return value or timezone.localdate()


def _fmt(day: datetime.date) -> str:
    return day.strftime("%d/%m/%Y")


def _may_request(scope: Scope, transfer: Transfer) -> bool:
    if transfer.scope == TransferScope.INTO_DISTRICT:
        return scope.covers_commune(transfer.to_branch.commune_id)
    return scope.covers_commune(transfer.from_branch.commune_id)


def _may_issue_letter(scope: Scope, transfer: Transfer) -> bool:
    # Inside one commune the commune committee decides; anything that leaves
    # a commune is done by the district committee.
    if transfer.scope == TransferScope.WITHIN_COMMUNE:
        return scope.covers_commune(transfer.from_branch.commune_id)
    if transfer.scope == TransferScope.INTO_DISTRICT:
        return False  # the origin issues it, outside the district
    return scope.is_district


def _may_receive(scope: Scope, transfer: Transfer) -> bool:
    if transfer.to_branch_id is None:
        return False
    return scope.covers_commune(transfer.to_branch.commune_id)


def transfer_actions(*, transfer: Transfer, scope: Scope) -> set[str]:
    """The steps `scope` may take on `transfer` now: a subset of
    {"issue_letter", "receive", "cancel", "refuse"}. Used by the pages to show
    only the buttons a user may press; the services check again."""
    actions: set[str] = set()
    if not transfer.is_in_progress:
        return actions
    if transfer.status == TransferStatus.REQUESTED:
        if _may_issue_letter(scope, transfer):
            actions |= {"issue_letter", "refuse"}
        if transfer.scope == TransferScope.INTO_DISTRICT and _may_receive(scope, transfer):
            actions |= {"receive", "refuse"}
        if _may_request(scope, transfer):
            actions.add("cancel")
    elif transfer.status == TransferStatus.LETTER_ISSUED:
        if _may_receive(scope, transfer):
            actions |= {"receive", "refuse"}
        if _may_request(scope, transfer) or scope.is_district:
            actions.add("cancel")
    return actions


def _derive_scope(from_branch: Branch | None, to_branch: Branch | None) -> str:
    if from_branch is None:
        return TransferScope.INTO_DISTRICT
    if to_branch is None:
        return TransferScope.OUT_OF_DISTRICT
    if from_branch.commune_id == to_branch.commune_id:
        return TransferScope.WITHIN_COMMUNE
    return TransferScope.BETWEEN_COMMUNES


def _check_temporary_end(planned_end: datetime.date | None, start: datetime.date) -> None:
    if planned_end is None:
        raise DomainError(_("A temporary transfer needs its planned end date."), field="planned_end")
    # Away 3 months to under 1 year, up to 2 years for study (QĐ 29-QĐ/TW).
    if not add_months(start, 3) <= planned_end <= add_months(start, 24):
        raise DomainError(
            _("A temporary transfer lasts from 3 months to 2 years: the end must fall between %(first)s and %(last)s.")
            % {"first": _fmt(add_months(start, 3)), "last": _fmt(add_months(start, 24))},
            field="planned_end",
        )


def _lock_transfer(transfer: Transfer) -> Transfer:
    """Lock the member (if any) and then the transfer: two people pressing a step
    of the same transfer at once queue here, and the second sees the first's step."""
    if transfer.member_id:
        lock_member(transfer.member_id)
    # Without joins, for the same reason as in lock_member.
    return Transfer.objects.select_for_update().get(pk=transfer.pk)


def _save_transfer(transfer: Transfer, *, create: bool = False) -> Transfer:
    """Save, turning the last-line constraints into messages if a race got past the locks."""
    try:
        with transaction.atomic():
            if create:
                transfer.save(force_insert=True)
            else:
                transfer.save()
    except IntegrityError as exc:
        raise DomainError(
            _("Someone else changed this member's transfers at the same moment. Reload the page and try again.")
        ) from exc
    return transfer


@transaction.atomic
def transfer_request(
    *,
    by,
    kind: str = TransferKind.OFFICIAL,
    member: Member | None = None,
    to_branch: Branch | None = None,
    other_organisation: str = "",
    other_address: str = "",
    reason: str = "",
    planned_end: datetime.date | None = None,
    incoming: dict | None = None,
    on: datetime.date | None = None,
    moved_on: datetime.date | None = None,
) -> Transfer:
    """Start a transfer. The scope follows from the ends:

    - `member` and `to_branch`: inside the commune or between communes;
    - `member`, no `to_branch`, `other_organisation`: out of the district;
    - `to_branch` and `other_organisation` with `incoming` (the newcomer's Member
      fields) or with a `member` who left (a returning member): into the district.

    `on` is the date of the member's application (default today); `moved_on`, for an
    official transfer, the change of job or residence behind it: a request more than
    TRANSFER_START_DEADLINE_WORKING_DAYS after it is recorded and flagged as late
    (Transfer.started_late), not refused, as the rule asks of late letters.
    Refused for a member under inspection, one who already has a transfer in
    progress, or a dissolved destination branch.
    """
    scope = _scope_of(by)
    today = _date(on)
    if kind == TransferKind.OFFICIAL:
        planned_end = None
    else:
        moved_on = None
    # Into the district: a newcomer's details, or a member of ours who left and returns.
    into = incoming is not None or (member is not None and member.status == MemberStatus.LEFT)
    transfer = Transfer(
        kind=kind,
        to_branch=to_branch,
        other_organisation=other_organisation.strip(),
        other_address=other_address.strip(),
        reason=reason.strip(),
        planned_end=planned_end,
        moved_on=moved_on,
        requested_by=by,
        requested_on=today,
    )
    if into:
        if to_branch is None or not transfer.other_organisation:
            raise DomainError(_("Give the receiving branch and the organisation the member comes from."))
        if kind == TransferKind.TEMPORARY:
            raise DomainError(
                _("A member temporarily attached from outside keeps their record at home: only official transfers into the district are registered."),
                field="kind",
            )
        transfer.scope = TransferScope.INTO_DISTRICT
        if member is not None:
            # Race: the returning member's record is locked so two people
            # registering the same return queue up; the second sees the first.
            member = lock_member(member.pk)
            if member.status != MemberStatus.LEFT:
                raise DomainError(_("%(name)s is still a member here.") % {"name": member.full_name})
            transfer.member = member
        else:
            transfer.incoming = _clean_incoming(incoming)
    else:
        if member is None:
            raise DomainError(_("Choose the member to transfer."))
        seen_branch_id = member.branch_id
        # Race: two secretaries moving the same member, or a dissolution of the
        # member's branch, at the same time. The row lock makes them queue; the
        # checks below then see what the first one did.
        member = lock_member(member.pk)
        if member.status == MemberStatus.LEFT:
            raise DomainError(_("%(name)s has left the Party and cannot be transferred.") % {"name": member.full_name})
        if member.branch_id != seen_branch_id:
            raise DomainError(
                _("%(name)s has just been moved to branch %(branch)s by someone else. Reload the page.")
                % {"name": member.full_name, "branch": member.branch.name}
            )
        transfer.member = member
        transfer.from_branch = member.branch
        if to_branch is None and not transfer.other_organisation:
            raise DomainError(_("Choose the receiving branch, or give the organisation outside the district."))
        if to_branch is not None:
            transfer.other_organisation = ""
            transfer.other_address = ""
        transfer.scope = _derive_scope(member.branch, to_branch)
    if transfer.member is not None:
        if transfer.member.under_inspection:
            raise DomainError(
                _("%(name)s is under inspection and cannot be transferred.") % {"name": transfer.member.full_name}
            )
        if Transfer.objects.in_progress().filter(member=transfer.member).exists():
            raise DomainError(
                _("%(name)s already has a transfer in progress.") % {"name": transfer.member.full_name}
            )
    if to_branch is not None:
        if transfer.from_branch_id == to_branch.pk:
            raise DomainError(_("The member is already in that branch."), field="to_branch")
        _check_branch_accepts(to_branch, today)
    if kind == TransferKind.TEMPORARY:
        _check_temporary_end(planned_end, today)
    if not _may_request(scope, transfer):
        raise NotAllowed(_("You may not start this transfer."))
    return _save_transfer(transfer, create=True)


def _clean_incoming(data: dict) -> dict:
    """Validate a newcomer's details as a Member would be, and keep them as JSON."""
    values = {key: data.get(key) for key in INCOMING_FIELDS if key in data}
    if Member.objects.filter(citizen_id=values.get("citizen_id")).exists():
        raise DomainError(
            _("A member with this citizen ID is already registered: record it as a returning member."),
            field="citizen_id",
        )
    _full_clean(_incoming_member(values))
    stored = {}
    for key, value in values.items():
        if key == "residence_village":
            value = value.pk if hasattr(value, "pk") else value
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        stored[key] = value
    return stored


def _full_clean(member: Member) -> None:
    """A newcomer's details checked as a member's form would; the first broken
    rule becomes the DomainError the page shows next to its field."""
    try:
        member.full_clean(exclude=["branch"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=None if field == NON_FIELD_ERRORS else field) from exc


def _incoming_member(values: dict) -> Member:
    kwargs = dict(values)
    village = kwargs.pop("residence_village", None)
    for key in _INCOMING_DATES:
        if isinstance(kwargs.get(key), str) and kwargs[key]:
            kwargs[key] = datetime.date.fromisoformat(kwargs[key])
    member = Member(**kwargs)
    if village is not None:
        member.residence_village_id = village.pk if hasattr(village, "pk") else village
    return member


def _next_letter_number(commune_id: int, year: int) -> int:
    # Race: two letters issued in the same commune at once would both read the
    # same highest number. Locking the commune row queues them; the unique
    # constraint (commune, year, number) stays the last line.
    Commune.objects.select_for_update(no_key=True).filter(pk=commune_id).get()
    last = (
        Transfer.objects.filter(letter_commune_id=commune_id, letter_year=year)
        .order_by("-letter_number")
        .values_list("letter_number", flat=True)
        .first()
    )
    return (last or 0) + 1


@transaction.atomic
def transfer_issue_letter(
    *, transfer: Transfer, by, on: datetime.date | None = None, signer_title: str = ""
) -> Transfer:
    """Issue the introduction letter, numbered in the sending commune's series for
    the year. A transfer out of the district completes here: the member leaves
    (reason "transferred out") unless it is temporary."""
    scope = _scope_of(by)
    transfer = _lock_transfer(transfer)
    if transfer.status != TransferStatus.REQUESTED or transfer.scope == TransferScope.INTO_DISTRICT:
        raise DomainError(_("The letter for this transfer cannot be issued now (it is %(status)s).")
                          % {"status": transfer.get_status_display()})
    if not _may_issue_letter(scope, transfer):
        raise NotAllowed(_("You may not issue the letter for this transfer."))
    on = _date(on)
    if on < transfer.requested_on:
        raise DomainError(_("The letter cannot be dated before the request."), field="on")
    if transfer.to_branch_id:
        _check_branch_accepts(transfer.to_branch, on)
    transfer.letter_commune_id = transfer.from_branch.commune_id
    transfer.letter_year = on.year
    transfer.letter_number = _next_letter_number(transfer.letter_commune_id, on.year)
    transfer.letter_date = on
    transfer.letter_signer_title = signer_title or scope.title
    transfer.letter_issued_by = by
    transfer.letter_issued_at = timezone.now()
    transfer.status = TransferStatus.LETTER_ISSUED
    _save_transfer(transfer)
    if transfer.scope == TransferScope.OUT_OF_DISTRICT and transfer.kind == TransferKind.OFFICIAL:
        member_leave(member=transfer.member, on=on, reason=LeftReason.TRANSFERRED_OUT)
    return transfer


@transaction.atomic
def transfer_receive(*, transfer: Transfer, by, on: datetime.date | None = None) -> Transfer:
    """Record that the receiving branch got the member: the move takes effect on `on`.

    Official: the membership moves. Temporary: a dated temporary attachment is
    opened until the planned end. Into the district: the member is created, or a
    returning member is reactivated.
    """
    scope = _scope_of(by)
    transfer = _lock_transfer(transfer)
    expected = (
        TransferStatus.REQUESTED if transfer.scope == TransferScope.INTO_DISTRICT else TransferStatus.LETTER_ISSUED
    )
    if transfer.status != expected or transfer.to_branch_id is None:
        raise DomainError(_("This transfer cannot be received now (it is %(status)s).")
                          % {"status": transfer.get_status_display()})
    if not _may_receive(scope, transfer):
        raise DomainError(_("Only the receiving commune records the receipt."))
    on = _date(on)
    if on < (transfer.letter_date or transfer.requested_on):
        raise DomainError(_("The receipt cannot be before the letter or the request."), field="on")
    # Race: the receiving branch being dissolved at the same moment. Its row
    # lock makes the dissolution and this receipt queue; the loser sees why.
    to_branch = Branch.objects.select_for_update(no_key=True).get(pk=transfer.to_branch_id)
    _check_branch_accepts(to_branch, on)
    if transfer.scope == TransferScope.INTO_DISTRICT:
        transfer.member = _receive_incoming(transfer, to_branch, on)
    elif transfer.kind == TransferKind.TEMPORARY:
        if transfer.planned_end <= on:
            raise DomainError(_("The temporary transfer would already have ended."), field="on")
        Membership.objects.create(
            member=transfer.member, branch=to_branch, kind=MembershipKind.TEMPORARY,
            started_on=on, ended_on=transfer.planned_end, end_reason=EndReason.TEMPORARY_ENDED,
        )
    else:
        membership_move(member=transfer.member, to_branch=to_branch, on=on, end_reason=EndReason.TRANSFERRED)
    transfer.status = TransferStatus.RECEIVED
    transfer.received_on = on
    transfer.received_by = by
    transfer.received_at = timezone.now()
    return _save_transfer(transfer)


def _receive_incoming(transfer: Transfer, to_branch: Branch, on: datetime.date) -> Member:
    if transfer.member_id:
        member = lock_member(transfer.member_id)
        if member.status != MemberStatus.LEFT:
            raise DomainError(_("%(name)s is already an active member.") % {"name": member.full_name})
        Membership.objects.create(member=member, branch=to_branch, kind=MembershipKind.OFFICIAL, started_on=on)
        member.status = MemberStatus.ACTIVE
        member.left_on = None
        member.left_reason = ""
        member.branch = to_branch
        member.version += 1
        member.save(update_fields=["status", "left_on", "left_reason", "branch", "version"])
        return member
    member = _incoming_member(transfer.incoming)
    if Member.objects.filter(citizen_id=member.citizen_id).exists():
        raise DomainError(_("A member with this citizen ID is already registered."))
    member.branch = to_branch
    _full_clean(member)
    return member_create(member=member, branch=to_branch, since=max(on, member.admitted_on))


def _close_transfer(*, transfer: Transfer, by, reason: str, status: str) -> Transfer:
    transfer.status = status
    transfer.closing_reason = reason
    transfer.closed_by = by
    transfer.closed_at = timezone.now()
    return _save_transfer(transfer)


@transaction.atomic
def transfer_cancel(*, transfer: Transfer, by, reason: str) -> Transfer:
    """Withdraw a transfer in progress (the sending side, or the district)."""
    scope = _scope_of(by)
    transfer = _lock_transfer(transfer)
    if "cancel" not in transfer_actions(transfer=transfer, scope=scope):
        _refuse_step(transfer, scope)
    if not reason.strip():
        raise DomainError(_("Give the reason."), field="reason")
    return _close_transfer(transfer=transfer, by=by, reason=reason.strip(), status=TransferStatus.CANCELLED)


@transaction.atomic
def transfer_refuse(*, transfer: Transfer, by, reason: str) -> Transfer:
    """Refuse a transfer in progress (whoever would take its next step)."""
    scope = _scope_of(by)
    transfer = _lock_transfer(transfer)
    if "refuse" not in transfer_actions(transfer=transfer, scope=scope):
        _refuse_step(transfer, scope)
    if not reason.strip():
        raise DomainError(_("Give the reason."), field="reason")
    return _close_transfer(transfer=transfer, by=by, reason=reason.strip(), status=TransferStatus.REFUSED)


def _refuse_step(transfer: Transfer, scope: Scope):
    if not transfer.is_in_progress:
        raise DomainError(_("This transfer is no longer in progress (it is %(status)s).")
                          % {"status": transfer.get_status_display()})
    raise NotAllowed(_("You may not take this step of the transfer."))


# --- Dissolving a branch (issue 3) -------------------------------------------


@dataclass
class PlanRow:
    """One member of a branch being dissolved and where they go."""

    member: Member
    membership: Membership
    from_branch: Branch
    proposed: Branch | None  # the village branch where they live; None: needs a decision
    destination: Branch | None  # proposed, or the one a person chose
    decided_by_person: bool = False

    @property
    def needs_decision(self) -> bool:
        return self.destination is None


def branch_dissolution_plan(
    *, branch: Branch, assignments: dict | None = None, on: datetime.date | None = None
) -> list[PlanRow]:
    """Where each current member of `branch` would go if it were dissolved on `on`.

    The proposal is the active village branch of the village the member lives
    in, in the same commune; `assignments` ({member id or citizen ID: Branch})
    overrides or fills it in. A row whose `destination` is None needs a
    decision. Two queries whatever the size of the branch.
    """
    on = _date(on)
    assignments = assignments or {}
    memberships = list(
        Membership.objects.filter(branch=branch, kind=MembershipKind.OFFICIAL, ended_on__isnull=True)
        .select_related("member", "member__residence_village")
        .order_by("member__folded_name", "member__pk")
    )
    village_branches: dict[int, Branch] = {}
    for candidate in (
        Branch.objects.active_on(on)
        .filter(commune_id=branch.commune_id, kind=BranchKind.VILLAGE)
        .exclude(pk=branch.pk)
        .order_by("-code")
    ):
        village_branches[candidate.village_id] = candidate  # the lowest code wins
    rows = []
    for membership in memberships:
        member = membership.member
        proposed = village_branches.get(member.residence_village_id)
        chosen = assignments.get(member.pk) or assignments.get(member.citizen_id)
        rows.append(
            PlanRow(
                member=member,
                membership=membership,
                from_branch=branch,
                proposed=proposed,
                destination=chosen or proposed,
                decided_by_person=chosen is not None and chosen != proposed,
            )
        )
    return rows


def branch_dissolve(*, branch: Branch, decision: str, on: datetime.date, by, assignments: dict | None = None):
    """Dissolve `branch` and move every member (see _branch_dissolve), as ONE audit
    entry holding every move: the batch is reviewed later as a unit."""
    from pacnam.audit import audit_batch

    with audit_batch(
        "branch_dissolve", actor=by, subject=branch,
        description=f"{decision} · {on.isoformat()}",
    ):
        return _branch_dissolve(branch=branch, decision=decision, on=on, by=by, assignments=assignments)


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
    scope = _scope_of(by)
    if not scope.covers_commune(branch.commune_id):
        raise NotAllowed(_("You may not dissolve this branch."))
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
    if branch.is_dissolved:
        raise DomainError(
            _("Branch %(branch)s is already dissolved (%(date)s).")
            % {"branch": branch.name, "date": _fmt(branch.dissolved_on)}
        )
    if branch.founded_on and on < branch.founded_on:
        raise DomainError(_("A branch cannot be dissolved before it was founded."), field="on")
    member_ids = sorted(
        Membership.objects.filter(branch=branch, kind=MembershipKind.OFFICIAL, ended_on__isnull=True)
        .values_list("member_id", flat=True)
    )
    list(Member.objects.select_for_update().filter(pk__in=member_ids).order_by("pk"))
    pending = list(
        Transfer.objects.in_progress()
        .filter(Q(member_id__in=member_ids) | Q(to_branch=branch))
        .select_related("member")
    )
    if pending:
        raise DomainError(
            _("A transfer is in progress for %(names)s: finish or cancel it before dissolving the branch.")
            % {"names": ", ".join(sorted({t.member_name for t in pending}))}
        )
    attached = Membership.objects.filter(branch=branch, kind=MembershipKind.TEMPORARY).on(on)
    if attached.exists():
        raise DomainError(_("Some members are temporarily attached to this branch: end their attachment first."))
    rows = branch_dissolution_plan(branch=branch, assignments=assignments, on=on)
    unplaced = [row.member.full_name for row in rows if row.needs_decision]
    if unplaced:
        raise DomainError(
            _("Nothing was changed: choose a branch for %(names)s.") % {"names": ", ".join(unplaced)}
        )
    for row in rows:
        if row.destination.pk == branch.pk:
            raise DomainError(_("A member cannot stay in the branch being dissolved."))
        if row.decided_by_person and not scope.covers_commune(row.destination.commune_id):
            raise NotAllowed(
                _("You may not send a member to branch %(branch)s.") % {"branch": row.destination.name}
            )
    batch = DissolutionBatch.objects.create(
        branch=branch, decision=decision, dissolved_on=on, performed_by=by, via_command=by is None
    )
    for row in rows:
        new = membership_move(
            member=row.member, to_branch=row.destination, on=on, end_reason=EndReason.BRANCH_DISSOLVED
        )
        DissolutionMove.objects.create(
            batch=batch, member=row.member, from_membership=row.membership, to_branch=row.destination,
            new_membership=new, decided_by_person=row.decided_by_person,
        )
    branch.dissolved_on = on
    branch.dissolution_decision = decision
    branch.version += 1
    branch.save(update_fields=["dissolved_on", "dissolution_decision", "version"])
    return batch


def dissolution_undo(*, batch: DissolutionBatch, by) -> DissolutionBatch:
    """Undo a dissolution as a whole (see _dissolution_undo), as ONE audit entry."""
    from pacnam.audit import audit_batch

    with audit_batch("dissolution_undo", actor=by, subject=batch.branch, description=batch.decision):
        return _dissolution_undo(batch=batch, by=by)


@transaction.atomic
def _dissolution_undo(*, batch: DissolutionBatch, by) -> DissolutionBatch:
    """Undo a dissolution as a whole (district officers only): each member goes
    back to the dissolved branch as if never moved, and the branch is active again.
    Refused if any member of the batch has moved or left since."""
    if by is None or not scope_for(by).is_district:
        raise NotAllowed(_("Only a district officer may undo a dissolution."))
    batch = DissolutionBatch.objects.select_for_update(no_key=True).get(pk=batch.pk)
    if batch.is_undone:
        raise DomainError(_("This dissolution was already undone."))
    # Race: a member of the batch being moved while the undo runs. Same lock
    # order as the dissolution: the branch, then the members in id order.
    branch = Branch.objects.select_for_update(no_key=True).get(pk=batch.branch_id)
    moves = list(batch.moves.select_related("member", "new_membership", "from_membership").order_by("member_id"))
    list(Member.objects.select_for_update().filter(pk__in=[m.member_id for m in moves]).order_by("pk"))
    # Read after the locks, in two queries whatever the size of the batch.
    moved_on = set(
        Membership.objects.filter(pk__in=[m.new_membership_id for m in moves], ended_on__isnull=False)
        .values_list("pk", flat=True)
    )
    in_transfer = set(
        Transfer.objects.in_progress().filter(member_id__in=[m.member_id for m in moves])
        .values_list("member_id", flat=True)
    )
    for move in moves:
        if move.new_membership_id in moved_on or move.member_id in in_transfer:
            raise DomainError(
                _("%(name)s has moved since the dissolution: it can no longer be undone as a whole.")
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

@transaction.atomic
def member_create_many(
    *, rows: list[tuple[Member, Branch, datetime.date | None]], batch_size: int = 1000
) -> list[Member]:
    """member_create for many members at once (the registry import): the same rules,
    each member validated beforehand, but written with bulk inserts (history rows
    included) so 100,000 members take seconds, not minutes. All or nothing."""
    from simple_history.utils import bulk_create_with_history

    from pacnam.text import fold

    members, starts = [], []
    for member, branch, since in rows:
        since = since or member.admitted_on
        if since < member.admitted_on:
            raise DomainError(_("A membership cannot start before the admission date."), field="since")
        _check_branch_accepts(branch, since)
        member.branch = branch
        member.folded_name = fold(member.full_name)  # bulk inserts skip Member.save
        members.append(member)
        starts.append(since)
    if connection.vendor == "postgresql":
        # COPY: a fraction of bulk_create's time for the members, memberships and
        # their history rows of a 100,000-row import (issue 7); the same rows.
        from pacnam.bulk import copy_history, copy_insert

        batch_size = 10000
        created = []
        for start in range(0, len(members), batch_size):
            batch = copy_insert(Member, members[start:start + batch_size])
            copy_history(Member, batch)
            memberships = copy_insert(Membership, [
                Membership(member=member, branch=member.branch, kind=MembershipKind.OFFICIAL, started_on=since)
                for member, since in zip(batch, starts[start:start + batch_size], strict=True)
            ])
            copy_history(Membership, memberships)
            created.extend(batch)
        return created
    created = []
    for start in range(0, len(members), batch_size):
        batch = bulk_create_with_history(members[start:start + batch_size], Member)
        memberships = [
            Membership(member=member, branch=member.branch, kind=MembershipKind.OFFICIAL, started_on=since)
            for member, since in zip(batch, starts[start:start + batch_size], strict=True)
        ]
        bulk_create_with_history(memberships, Membership)
        created.extend(batch)
    return created
