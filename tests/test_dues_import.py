"""Importing a dues list (a branch's past book): the export's headers read back,
each of the collection's rules held, codes looked up on the month, the importer's
scope, the web preview and its all-or-nothing write, and a fixed number of
queries whatever the file's length."""

import csv
import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branches.access import scope_for
from meetings.dues_import import parse_dong, parse_dues_month
from meetings.dues_selectors import DUES_EXPORT_HEADERS
from meetings.models import DuesPayment, Meeting, MeetingKind
from meetings.services.meetings import meeting_create
from members.io.read import CellError
from members.io.validate import CREATE, UNCHANGED, UPDATE, validate_table
from pacnam.models import AuditEntry
from tests.conftest import make_branch, make_member

D = datetime.date
TODAY = D(2026, 12, 3)


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def row(member, branch, month="2024-03", due="2000", paid="2000", paid_on="2024-03-10", **kw):
    values = {
        "citizen_id": member.citizen_id,
        "full_name": member.full_name,
        "branch_code": branch.code,
        "month": month,
        "due": due,
        "paid": paid,
        "paid_on": paid_on,
        "reason": "",
    }
    values.update(kw)
    return [values[key] for key in DUES_EXPORT_HEADERS]


def check(rows, scope=None):
    return validate_table(kind="dues", table=[DUES_EXPORT_HEADERS, *rows], scope=scope, today=TODAY)


def errors(plan) -> list[tuple[int, str]]:
    return [(e.row, e.column) for e in plan.errors]


def as_csv(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(DUES_EXPORT_HEADERS)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def test_amounts_and_months_are_read_as_offices_write_them():
    assert parse_dong("25.000") == 25_000
    assert parse_dong("25,000 đ") == 25_000
    assert parse_dong("2000") == 2_000
    assert parse_dong("") is None
    for wrong in ("hai nghìn", "25.00", "-2000"):
        with pytest.raises(CellError):
            parse_dong(wrong)
    assert parse_dues_month("2019-03") == D(2019, 3, 1)
    assert parse_dues_month("03/2019") == D(2019, 3, 1)
    assert parse_dues_month("2019-03-25") == D(2019, 3, 1)
    with pytest.raises(CellError):
        parse_dues_month("tháng ba")


def test_the_export_imports_back_unchanged_and_into_an_empty_book(world, tmp_path):
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
        member=world.other_member,
        branch=world.other_branch,
        month=D(2024, 4, 1),
        due=2000,
        paid=1000,
        paid_on=D(2024, 4, 12),
        reason="Đóng một nửa",
    )
    fields = ("member_id", "branch_id", "month", "due", "paid", "paid_on", "reason", "meeting_id")
    before = sorted(DuesPayment.objects.values_list(*fields))
    out = tmp_path / "dues.csv"
    call_command("registry_export", "dues", "--year", "2024", "-o", str(out))
    dry = io.StringIO()
    call_command("registry_import", "dues", str(out), "--dry-run", stdout=dry)
    assert "tạo mới 0, cập nhật 0, giữ nguyên 3" in dry.getvalue()
    plan = validate_table(
        kind="dues", table=list(csv.reader(out.open(encoding="utf-8"))), today=TODAY
    )
    assert not plan.errors and plan.counts == {"created": 0, "updated": 0, "unchanged": 3}

    DuesPayment.objects.all().delete()
    call_command("registry_import", "dues", str(out), stdout=io.StringIO())
    assert sorted(DuesPayment.objects.values_list(*fields)) == before


def test_each_rule_of_the_collection_refuses_its_row(world):
    m, b = world.member, world.branch
    plan = check(
        [
            row(m, b),  # 2: right
            ["999999999999", "Không Có", b.code, "2024-03", "2000", "2000", "2024-03-10", ""],
            row(m, world.branch2, month="2024-05", paid_on="2024-05-10"),  # not in it then
            row(m, b, month="2024-06", full_name="Lò Văn Khác", paid_on="2024-06-10"),
            row(m, b, month="2024-07", due="50000", paid="50000", paid_on="2024-07-10"),
            row(m, b, month="2024-08", paid="3000", paid_on="2024-08-10"),  # more than due
            row(m, b, month="2024-09", paid_on=""),  # paid, but when?
            row(m, b, month="tháng mười"),
            row(m, b, month="2028-01", paid_on=""),  # more than a year ahead
            row(m, b),  # 11: the same month twice
            row(m, b, month="2024-10", paid_on="2022-01-05"),  # paid two years before
            row(m, b, month="2024-11", paid_on="2027-01-01"),  # in the future
        ]
    )
    assert errors(plan) == [
        (3, "citizen_id"),
        (4, "branch_code"),
        (5, "full_name"),
        (6, "due"),
        (7, "paid"),
        (8, "paid_on"),
        (9, "month"),
        (10, "month"),
        (11, "month"),
        (12, "paid_on"),
        (13, "paid_on"),
    ]
    messages = {e.row: e.message for e in plan.errors}
    assert "2.000" in messages[6] and "50.000" in messages[6]  # both amounts said
    assert "Nà Khâu" in messages[4]
    assert [p.row for p in plan.rows] == [2]


def test_a_full_payment_drops_the_reason_and_nothing_paid_drops_the_day(world):
    m, b = world.member, world.branch
    plan = check(
        [
            row(m, b, reason="Ốm"),
            row(m, b, month="2024-04", paid="0", paid_on="2024-04-10", reason="Đi làm xa"),
        ]
    )
    assert not plan.errors
    assert [(n.row, n.column) for n in plan.notices] == [(2, "reason"), (3, "paid_on")]
    first, second = (p.obj for p in plan.rows)
    assert first.reason == "" and first.paid_on == D(2024, 3, 10)
    assert second.paid_on is None and second.reason == "Đi làm xa" and second.due == 2000


def test_the_amount_due_is_the_registrys_even_when_the_file_leaves_it_out(world):
    from meetings.services.dues import dues_profile_set

    dues_profile_set(
        scope=scope_for(world.secretary),
        member=world.member,
        valid_from=D(2024, 1, 1),
        category="salary",
        base=5_000_000,
    )
    plan = check([row(world.member, world.branch, due="", paid="50.000")])
    assert not plan.errors
    assert plan.rows[0].obj.due == 50_000
    refused = check([row(world.member, world.branch, due="2000", paid="2000")])
    assert errors(refused) == [(2, "due")]


def test_a_month_recorded_at_a_meeting_is_repeated_but_never_changed(world):
    meeting = meeting_create(
        scope=scope_for(world.branch_secretary),
        user=world.branch_secretary,
        meeting=Meeting(branch=world.branch, date=D(2024, 3, 20), kind=MeetingKind.REGULAR),
    )
    DuesPayment.objects.create(
        member=world.member,
        branch=world.branch,
        month=D(2024, 3, 1),
        due=2000,
        paid=2000,
        paid_on=D(2024, 3, 20),
        meeting=meeting,
    )
    same = check([row(world.member, world.branch, paid_on="2024-03-20")])
    assert not same.errors and same.rows[0].action == UNCHANGED
    changed = check([row(world.member, world.branch, paid="0", paid_on="", reason="Ốm")])
    assert errors(changed) == [(2, "paid")]
    assert "20/03/2024" in changed.errors[0].message


def test_an_imported_month_is_corrected_by_a_later_file(world):
    DuesPayment.objects.create(
        member=world.member, branch=world.branch, month=D(2024, 3, 1), due=2000, reason="Ốm"
    )
    plan = check([row(world.member, world.branch)])
    assert not plan.errors
    [update] = plan.rows
    assert update.action == UPDATE and set(update.changes) == {"paid", "paid_on", "reason"}


def test_a_branch_code_is_the_branch_that_bore_it_that_month(world):
    old = make_branch(world.commune, name="Chi bộ cơ quan xã cũ", code="CQ-CU")
    member = make_member(old, name="Nông Văn Cũ", since=D(2018, 1, 1))
    old.dissolved_on, old.dissolution_decision = D(2019, 7, 1), "01-QĐ/ĐU"
    old.save(update_fields=["dissolved_on", "dissolution_decision"])
    new = make_branch(world.commune, name="Chi bộ thôn Mới", code="CQ-CU", founded_on=D(2019, 7, 1))
    plan = check(
        [
            row(member, old, month="2019-05", paid_on="2019-05-10"),
            row(member, new, month="2019-09", paid_on="2019-09-10"),
        ]
    )
    assert plan.rows[0].obj.branch_id == old.pk
    assert errors(plan) == [(3, "branch_code")]
    assert "Chi bộ thôn Mới" in plan.errors[0].message  # the code's branch of September


def test_a_commune_secretary_imports_only_their_communes_book(world):
    scope = scope_for(world.secretary)
    plan = check(
        [
            row(world.member, world.branch),
            row(world.other_member, world.other_branch),
            # Our branch, with the other commune's member: said as outside, no more.
            row(world.other_member, world.branch, full_name=""),
        ],
        scope=scope,
    )
    assert errors(plan) == [(3, "branch_code"), (4, "citizen_id")]
    for error in plan.errors:
        assert "Khâu Slôm" not in error.message and "Triệu Văn Páo" not in error.message
    assert [p.action for p in plan.rows] == [CREATE]


def test_the_web_import_previews_then_writes_every_row_or_none(world, login):
    client = login(world.secretary)
    good = as_csv(
        [
            row(world.member, world.branch),
            row(world.member, world.branch, month="2024-04", paid="0", paid_on="", reason="Ốm"),
        ]
    )
    bad = as_csv([row(world.member, world.branch), row(world.member, world.branch, paid="9000")])
    file = io.BytesIO(bad)
    file.name = "so-dang-phi.csv"
    refused = client.post(reverse("members:import"), {"kind": "dues", "file": file}, follow=True)
    assert refused.context["token"] is None and refused.context["plan"].errors
    assert not DuesPayment.objects.exists()

    file = io.BytesIO(good)
    file.name = "so-dang-phi.csv"
    preview = client.post(reverse("members:import"), {"kind": "dues", "file": file}, follow=True)
    page = preview.content.decode()
    assert "Đảng phí" in page  # the kind, in the user's language
    assert preview.context["counts"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert not DuesPayment.objects.exists()  # the preview writes nothing
    before = AuditEntry.objects.order_by("-seq").first().seq
    done = client.post(
        reverse("members:import_confirm"), {"token": preview.context["token"]}, follow=True
    )
    assert done.context["counts"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert sorted(DuesPayment.objects.values_list("month", "paid", "reason")) == [
        (D(2024, 3, 1), 2000, ""),
        (D(2024, 4, 1), 0, "Ốm"),
    ]
    [entry] = AuditEntry.objects.filter(seq__gt=before)
    assert entry.action == "import" and entry.actor == world.secretary


def test_the_import_page_offers_the_dues_list_and_its_keys(world, login):
    page = login(world.district).get(reverse("members:import")).content.decode()
    assert 'value="dues"' in page
    assert ", ".join(DUES_EXPORT_HEADERS) in page


def test_checking_costs_the_same_queries_for_3_and_30_members(world):
    few = [make_member(world.branch, name=f"Đảng Viên {n}") for n in range(3)]
    many = few + [make_member(world.branch, name=f"Đảng Viên {n}") for n in range(3, 30)]

    def queries(members):
        with CaptureQueriesContext(connection) as seen:
            plan = check([row(m, world.branch) for m in members])
        assert not plan.errors and len(plan.rows) == len(members)
        return len(seen.captured_queries)

    assert queries(few) == queries(many)
