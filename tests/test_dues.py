"""Party dues: amounts due computed from dated rates and profiles, collected at a
meeting in one audited transaction, the branch's book, who is behind and the
three-month review; each figure checked against a count made here by hand."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from branches.access import scope_for
from meetings.dues_selectors import (
    RateBook,
    branch_dues_book,
    commune_dues_totals,
    meeting_dues_sheet,
    members_behind,
    three_month_review,
)
from meetings.models import DuesPayment, DuesProfile, Meeting, MeetingKind
from meetings.services.dues import DuesEntry, dues_collect, dues_profile_set
from meetings.services.meetings import meeting_create
from pacnam.lib.errors import DomainError
from pacnam.models import AuditEntry
from tests.conftest import make_member

D = datetime.date


def _meeting(world, day):
    scope = scope_for(world.branch_secretary)
    return meeting_create(
        scope=scope,
        user=world.branch_secretary,
        meeting=Meeting(branch=world.branch, date=day, kind=MeetingKind.REGULAR),
    )


def test_the_rates_change_on_1_february_2026(db):
    book = RateBook.load()
    assert book.due("salary", 5_000_000, D(2026, 1, 1)) == 50_000
    assert book.due("pension", 4_000_000, D(2026, 3, 1)) == 20_000
    assert book.due("student", 0, D(2026, 1, 1)) == 2_000
    assert book.due("student", 0, D(2026, 2, 1)) == 5_000
    assert book.rate_on("student", D(2026, 2, 1)).confirmed is False
    assert book.keep_percent("branch", D(2019, 5, 1)) == 30


def test_a_profile_runs_until_the_next_and_starts_once_a_month(world):
    scope = scope_for(world.secretary)
    dues_profile_set(
        scope=scope,
        member=world.member,
        valid_from=D(2019, 1, 15),
        category="salary",
        base=4_000_000,
    )
    assert DuesProfile.objects.get(member=world.member).valid_from == D(2019, 1, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        DuesProfile.objects.create(member=world.member, valid_from=D(2019, 1, 1), category="rural")


def test_a_payment_is_unique_a_month_and_never_negative(world):
    DuesPayment.objects.create(
        member=world.member, branch=world.branch, month=D(2019, 5, 1), due=2000
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DuesPayment.objects.create(
            member=world.member, branch=world.branch, month=D(2019, 5, 1), due=2000
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        DuesPayment.objects.create(
            member=world.member, branch=world.branch, month=D(2019, 6, 1), due=-1
        )


def test_collecting_at_a_meeting_computes_the_due_and_is_one_audit_entry(world):
    scope = scope_for(world.secretary)
    dues_profile_set(
        scope=scope,
        member=world.member,
        valid_from=D(2019, 1, 1),
        category="salary",
        base=4_500_000,
    )
    other = make_member(world.branch, name="Lục Thị Hoa")
    meeting = _meeting(world, D(2019, 5, 10))
    before = AuditEntry.objects.order_by("-seq").first().seq
    bs = scope_for(world.branch_secretary)
    sheet = {
        row["member"].pk: row for row in meeting_dues_sheet(Meeting.objects.get(pk=meeting.pk))
    }
    dues_collect(
        scope=bs,
        meeting=meeting,
        entries={
            world.member.pk: DuesEntry(paid=45_000, ahead=2),
            other.pk: DuesEntry(paid=0),
        },
    )
    [entry] = AuditEntry.objects.filter(seq__gt=before)
    assert entry.action == "dues_collect"
    assert {i["type"] for i in entry.items} >= {"meetings.duespayment"}
    rows = {(p.member_id, p.month): p for p in DuesPayment.objects.all()}
    assert rows[(world.member.pk, D(2019, 5, 1))].due == 45_000
    assert rows[(world.member.pk, D(2019, 7, 1))].paid == 45_000  # two months ahead
    assert rows[(other.pk, D(2019, 5, 1))].due == 2_000  # no profile: the default (rural)
    sheet = {
        row["member"].pk: row for row in meeting_dues_sheet(Meeting.objects.get(pk=meeting.pk))
    }
    assert sheet[world.member.pk]["due"] == 45_000 and sheet[world.member.pk]["ahead"] == 2
    # More than due is refused; fewer months ahead removes the rows saved ahead.
    with pytest.raises(DomainError):
        dues_collect(scope=bs, meeting=meeting, entries={world.member.pk: DuesEntry(paid=50_000)})
    dues_collect(
        scope=bs, meeting=meeting, entries={world.member.pk: DuesEntry(paid=45_000, ahead=1)}
    )
    assert not DuesPayment.objects.filter(member=world.member, month=D(2019, 7, 1)).exists()


def test_another_communes_secretary_may_not_collect(world):
    meeting = _meeting(world, D(2019, 5, 10))
    from pacnam.lib.errors import NotAllowed

    with pytest.raises(NotAllowed):
        dues_collect(scope=scope_for(world.outsider), meeting=meeting, entries={})


def _unpaid_months(world, member, months, reason=""):
    for m in months:
        DuesPayment.objects.create(
            member=member, branch=world.branch, month=D(2024, m, 1), due=2000, reason=reason
        )


def test_the_three_month_review_lists_the_months_that_count(world):
    _unpaid_months(world, world.member, [2, 5, 9])
    _unpaid_months(
        world,
        world.cadre,
        [2, 5],
    )
    _unpaid_months(world, world.cadre, [9], reason="Ốm dài ngày")
    scope = scope_for(world.secretary)
    review = three_month_review(scope, 2024)
    assert [(r["member"].pk, r["dues_months"]) for r in review] == [
        (world.member.pk, [D(2024, 2, 1), D(2024, 5, 1), D(2024, 9, 1)])
    ]
    # The other commune sees none of it.
    assert three_month_review(scope_for(world.outsider), 2024) == []
    behind, total = members_behind(scope, 2024)
    assert total == 2 and behind[0]["owed"] == 6000


def test_the_book_totals_keep_thirty_percent_and_send_up_the_rest(world):
    DuesPayment.objects.create(
        member=world.member,
        branch=world.branch,
        month=D(2024, 3, 1),
        due=45_000,
        paid=45_000,
        paid_on=D(2024, 3, 10),
    )
    DuesPayment.objects.create(
        member=world.cadre, branch=world.branch, month=D(2024, 3, 1), due=2_000, paid=0
    )
    book = branch_dues_book(world.branch, 2024)
    march = book["totals"][2]
    assert (march["due"], march["paid"], march["owed"]) == (47_000, 45_000, 2_000)
    assert (march["kept"], march["sent_up"]) == (13_500, 31_500)
    [row] = commune_dues_totals(scope_for(world.district), 2024)
    assert row["commune"] == world.commune and row["paid"] == 45_000
    assert row["received"] == 31_500 and row["kept_commune"] == 28_350


def test_registry_export_dues_writes_the_years_months_with_the_agreed_headers(world, tmp_path):
    import csv

    from django.core.management import call_command

    DuesPayment.objects.create(
        member=world.member,
        branch=world.branch,
        month=D(2024, 3, 1),
        due=2000,
        paid=2000,
        paid_on=D(2024, 3, 10),
    )
    DuesPayment.objects.create(
        member=world.member, branch=world.branch, month=D(2024, 4, 1), due=2000, reason="Ốm"
    )
    DuesPayment.objects.create(
        member=world.member, branch=world.branch, month=D(2023, 4, 1), due=2000
    )
    out = tmp_path / "dues.csv"
    call_command("registry_export", "dues", "--year", "2024", "-o", str(out))
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == [
        "citizen_id",
        "full_name",
        "branch_code",
        "month",
        "due",
        "paid",
        "paid_on",
        "reason",
    ]
    assert rows[1:] == [
        [
            world.member.citizen_id,
            world.member.full_name,
            world.branch.code,
            "2024-03",
            "2000",
            "2000",
            "2024-03-10",
            "",
        ],
        [
            world.member.citizen_id,
            world.member.full_name,
            world.branch.code,
            "2024-04",
            "2000",
            "0",
            "",
            "Ốm",
        ],
    ]
