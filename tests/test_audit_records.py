"""The records against their trail (issue 23): every entry keeps a keyed digest of
each row it left; `audit_verify --records` names a row changed, deleted or put
back with raw SQL, behind the registry's back, and fails."""

import datetime

from django.db import connection

from members.models import Member, Membership
from members.services.dissolutions import branch_dissolve
from members.services.members import member_leave
from pacnam.audit.records import verify_records
from pacnam.models import AuditEntry
from tests.conftest import make_member
from tests.test_audit_seal import run_verify

D = datetime.date


def raw(sql, params=()):
    """SQL straight to the tables, as someone with the database's password would."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_every_entry_keeps_the_digest_of_the_rows_it_left(world):
    member = make_member(world.branch, name="Hoàng Văn Số")
    entry = AuditEntry.objects.filter(object_type="members.member", object_id=str(member.pk))
    digests = entry.order_by("-seq").first().row_digests
    assert set(digests) == {f"members.member:{member.pk}"}
    assert len(digests[f"members.member:{member.pk}"]) == 64


def test_the_registrys_own_changes_match_their_trail(world):
    branch_dissolve(branch=world.office, decision="15-QĐ/ĐU", on=D(2019, 4, 1), by=world.secretary)
    member_leave(member=world.other_member, on=D(2020, 1, 1), reason="died")
    member = make_member(world.branch2, name="Đặng Thị Nhất")
    member.phone = "0912345678"
    member.save()
    report = verify_records()
    assert report.ok, [str(m) for m in report.mismatches]
    assert report.matched >= Member.objects.count() and report.checked > report.matched
    status, out = run_verify("--records")
    assert status == 0 and "Records match the audit trail" in out, out


def test_a_name_changed_with_sql_is_named_and_fails(world):
    member = world.member
    raw("UPDATE members_member SET full_name = %s WHERE id = %s", ["Kẻ Mạo Danh", member.pk])
    status, message = run_verify()
    assert status == 0  # the chain alone does not see it: the trail was not touched
    status, message = run_verify("--records")
    assert status == 1, message
    assert f"members.member #{member.pk} changed (full_name)" in message, message
    assert "1 row(s)" in message


def test_a_row_deleted_with_sql_and_one_put_back_are_named(world):
    member = make_member(world.branch2, name="Lò Văn Xóa")
    [membership] = Membership.objects.filter(member=member)
    # Foreign keys would refuse the deletes: the attacker turns them off as well.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
        try:
            cursor.execute("DELETE FROM members_membership WHERE id = %s", [membership.pk])
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = DEFAULT")
            else:
                cursor.execute("PRAGMA foreign_keys = ON")
    report = verify_records()
    assert [str(m) for m in report.mismatches] == [f"members.membership #{membership.pk} deleted"]


def test_rows_of_entries_without_digests_are_no_digest_not_failures(world):
    """Entries written before digests were kept have none: their rows are counted."""
    member = make_member(world.branch2, name="Ma Văn Cũ")
    from tests.test_audit_seal import tamper

    # As if written before: the entries of this member have no digest (the
    # chain is not checked here, only the records).
    tamper("UPDATE pacnam_auditentry SET row_digests = NULL WHERE object_id = %s", [str(member.pk)])
    raw("UPDATE members_member SET full_name = %s WHERE id = %s", ["Ai Đó", member.pk])
    report = verify_records()
    assert report.ok and report.no_digest >= 1
