"""Transfers between branches, step by step: request, letter, receipt (Quy định 29-QĐ/TW)."""

import datetime

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from branches.access import Scope, acting_scope
from branches.models import Branch, Commune
from pacnam.audit.trail import audited
from pacnam.lib.dates import add_months, dmy, two_levels
from pacnam.lib.errors import DomainError, NotAllowed

from ..models import (
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
)
from .members import (
    _check_branch_accepts,
    lock_member,
    member_create,
    member_leave,
    membership_move,
)

# --- Transfers ---------------------------------------------------
#
# Lock order, everywhere: the member, then the transfer, then a branch or a
# commune. The dissolution locks its branch, then its members; the branches
# a transfer locks are never the dissolving one's members' current branch, so
# no two code paths wait for each other in opposite orders.

INCOMING_FIELDS = (
    "citizen_id",
    "full_name",
    "gender",
    "birth_date",
    "ethnicity",
    "residence_village",
    "position",
    "is_commune_cadre",
    "admitted_on",
    "full_on",
    "card_number",
)
_INCOMING_DATES = ("birth_date", "admitted_on", "full_on")


def _may_request(scope: Scope, transfer: Transfer) -> bool:
    if transfer.scope == TransferScope.INTO_DISTRICT:
        return transfer.to_branch is not None and scope.can_edit_commune(
            transfer.to_branch.commune_id
        )
    return transfer.from_branch is not None and scope.can_edit_commune(
        transfer.from_branch.commune_id
    )


def _may_issue_letter(scope: Scope, transfer: Transfer) -> bool:
    # Inside one commune the commune committee decides; anything that leaves
    # a commune is done by the district committee.
    if transfer.scope == TransferScope.WITHIN_COMMUNE:
        return transfer.from_branch is not None and scope.can_edit_commune(
            transfer.from_branch.commune_id
        )
    if transfer.scope == TransferScope.INTO_DISTRICT:
        return False  # the origin issues it, outside the district
    return scope.is_officer


def _may_receive(scope: Scope, transfer: Transfer) -> bool:
    if transfer.to_branch is None:
        return False
    return scope.can_edit_commune(transfer.to_branch.commune_id)


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
        if _may_request(scope, transfer) or scope.is_officer:
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
        raise DomainError(
            _("A temporary transfer needs its planned end date."), field="planned_end"
        )
    # Away 3 months to under 1 year, up to 2 years for study (QĐ 29-QĐ/TW).
    if not add_months(start, 3) <= planned_end <= add_months(start, 24):
        raise DomainError(
            _(
                "A temporary transfer lasts from 3 months to 2 years: the end must fall between %(first)s and %(last)s."
            )
            % {"first": dmy(add_months(start, 3)), "last": dmy(add_months(start, 24))},
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
            _(
                "Someone else changed this member's transfers at the same moment. Reload the page and try again."
            )
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
    scope = acting_scope(by)
    today = on or timezone.localdate()
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
            raise DomainError(
                _("Give the receiving branch and the organisation the member comes from.")
            )
        if kind == TransferKind.TEMPORARY:
            raise DomainError(
                _(
                    "A member temporarily attached from outside keeps their record at home: only official transfers into the district are registered."
                ),
                field="kind",
            )
        transfer.scope = TransferScope.INTO_DISTRICT
        if member is not None:
            # Race: the returning member's record is locked so two people
            # registering the same return queue up; the second sees the first.
            member = lock_member(member.pk)
            if member.status != MemberStatus.LEFT:
                raise DomainError(
                    _("%(name)s is still a member here.") % {"name": member.full_name}
                )
            transfer.member = member
        else:
            assert incoming is not None  # into the district, and no returning member
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
            raise DomainError(
                _("%(name)s has left the Party and cannot be transferred.")
                % {"name": member.full_name}
            )
        if member.branch_id != seen_branch_id:
            raise DomainError(
                _(
                    "%(name)s has just been moved to branch %(branch)s by someone else. Reload the page."
                )
                % {"name": member.full_name, "branch": member.branch.name}
            )
        transfer.member = member
        transfer.from_branch = member.branch
        if to_branch is None and not transfer.other_organisation:
            raise DomainError(
                pgettext(
                    "two levels",
                    "Choose the receiving branch, or give the organisation outside the province.",
                )
                if two_levels()
                else _(
                    "Choose the receiving branch, or give the organisation outside the district."
                )
            )
        if to_branch is not None:
            transfer.other_organisation = ""
            transfer.other_address = ""
        transfer.scope = _derive_scope(member.branch, to_branch)
    if transfer.member is not None:
        if transfer.member.under_inspection:
            raise DomainError(
                _("%(name)s is under inspection and cannot be transferred.")
                % {"name": transfer.member.full_name}
            )
        if Transfer.objects.in_progress().filter(member=transfer.member).exists():
            raise DomainError(
                _("%(name)s already has a transfer in progress.")
                % {"name": transfer.member.full_name}
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
            _(
                "A member with this citizen ID is already registered: record it as a returning member."
            ),
            field="citizen_id",
        )
    _full_clean(_incoming_member(values))
    stored = {}
    for key, value in values.items():
        if key == "residence_village":
            value = getattr(value, "pk", value)
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
    scope = acting_scope(by)
    transfer = _lock_transfer(transfer)
    if transfer.status != TransferStatus.REQUESTED or transfer.scope == TransferScope.INTO_DISTRICT:
        raise DomainError(
            _("The letter for this transfer cannot be issued now (it is %(status)s).")
            % {"status": transfer.get_status_display()}
        )
    if not _may_issue_letter(scope, transfer):
        raise NotAllowed(_("You may not issue the letter for this transfer."))
    on = on or timezone.localdate()
    if on < transfer.requested_on:
        raise DomainError(_("The letter cannot be dated before the request."), field="on")
    if transfer.to_branch is not None:
        _check_branch_accepts(transfer.to_branch, on)
    # Not into the district (refused above): the sender is a branch here.
    assert transfer.from_branch is not None
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
        assert transfer.member is not None  # only a transfer into the district has none
        member_leave(member=transfer.member, on=on, reason=LeftReason.TRANSFERRED_OUT)
    return transfer


@audited("transfer_receive", subject="transfer")
@transaction.atomic
def transfer_receive(*, transfer: Transfer, by, on: datetime.date | None = None) -> Transfer:
    """Record that the receiving branch got the member: the move takes effect on `on`.

    Official: the membership moves. Temporary: a dated temporary attachment is
    opened until the planned end. Into the district: the member is created, or a
    returning member is reactivated.
    """
    scope = acting_scope(by)
    transfer = _lock_transfer(transfer)
    expected = (
        TransferStatus.REQUESTED
        if transfer.scope == TransferScope.INTO_DISTRICT
        else TransferStatus.LETTER_ISSUED
    )
    if transfer.status != expected or transfer.to_branch_id is None:
        raise DomainError(
            _("This transfer cannot be received now (it is %(status)s).")
            % {"status": transfer.get_status_display()}
        )
    if not _may_receive(scope, transfer):
        raise NotAllowed(_("Only the receiving commune records the receipt."))
    on = on or timezone.localdate()
    if on < (transfer.letter_date or transfer.requested_on):
        raise DomainError(_("The receipt cannot be before the letter or the request."), field="on")
    # Race: the receiving branch being dissolved at the same moment. Its row
    # lock makes the dissolution and this receipt queue; the loser sees why.
    to_branch = Branch.objects.select_for_update(no_key=True).get(pk=transfer.to_branch_id)
    _check_branch_accepts(to_branch, on)
    if transfer.scope == TransferScope.INTO_DISTRICT:
        transfer.member = _receive_incoming(transfer, to_branch, on)
    elif transfer.kind == TransferKind.TEMPORARY:
        # A temporary transfer has a planned end and, not being into the district, a member.
        assert transfer.planned_end is not None and transfer.member is not None
        if transfer.planned_end <= on:
            raise DomainError(_("The temporary transfer would already have ended."), field="on")
        Membership.objects.create(
            member=transfer.member,
            branch=to_branch,
            kind=MembershipKind.TEMPORARY,
            started_on=on,
            ended_on=transfer.planned_end,
            end_reason=EndReason.TEMPORARY_ENDED,
        )
    else:
        assert transfer.member is not None  # only a transfer into the district has none
        membership_move(
            member=transfer.member, to_branch=to_branch, on=on, end_reason=EndReason.TRANSFERRED
        )
    transfer.status = TransferStatus.RECEIVED
    transfer.received_on = on
    transfer.received_by = by
    transfer.received_at = timezone.now()
    return _save_transfer(transfer)


def _receive_incoming(transfer: Transfer, to_branch: Branch, on: datetime.date) -> Member:
    if transfer.member_id:
        member = lock_member(transfer.member_id)
        if member.status != MemberStatus.LEFT:
            raise DomainError(
                _("%(name)s is already an active member.") % {"name": member.full_name}
            )
        Membership.objects.create(
            member=member, branch=to_branch, kind=MembershipKind.OFFICIAL, started_on=on
        )
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


def _close_transfer(*, transfer: Transfer, by, reason: str, action: str, status: str) -> Transfer:
    """End a transfer in progress without moving anyone: cancelled or refused."""
    scope = acting_scope(by)
    transfer = _lock_transfer(transfer)
    if action not in transfer_actions(transfer=transfer, scope=scope):
        _refuse_step(transfer, scope)
    if not reason.strip():
        raise DomainError(_("Give the reason."), field="reason")
    transfer.status = status
    transfer.closing_reason = reason.strip()
    transfer.closed_by = by
    transfer.closed_at = timezone.now()
    return _save_transfer(transfer)


@transaction.atomic
def transfer_cancel(*, transfer: Transfer, by, reason: str) -> Transfer:
    """Withdraw a transfer in progress (the sending side, or the district)."""
    return _close_transfer(
        transfer=transfer, by=by, reason=reason, action="cancel", status=TransferStatus.CANCELLED
    )


@transaction.atomic
def transfer_refuse(*, transfer: Transfer, by, reason: str) -> Transfer:
    """Refuse a transfer in progress (whoever would take its next step)."""
    return _close_transfer(
        transfer=transfer, by=by, reason=reason, action="refuse", status=TransferStatus.REFUSED
    )


def _refuse_step(transfer: Transfer, scope: Scope):
    if not transfer.is_in_progress:
        raise DomainError(
            _("This transfer is no longer in progress (it is %(status)s).")
            % {"status": transfer.get_status_display()}
        )
    raise NotAllowed(_("You may not take this step of the transfer."))
