"""The audit trail: every change logged with before/after, batches as one entry,
a hash chain that audit_verify checks, and no way to change or delete entries."""

import datetime
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction
from django.template.loader import render_to_string

from branches.models import Commune, Village
from members.models import Member, Membership
from members.services.members import membership_move
from pacnam.audit.chain import verify_chain
from pacnam.audit.trail import (
    audit_batch,
    audit_entries_for,
    audit_for_branch,
    audit_for_member,
    audit_log,
)
from pacnam.models import GENESIS_HASH, AppendOnlyError, AuditEntry, AuditHead, AuditLink
from tests.conftest import make_branch, make_member

D = datetime.date


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # Tests run no collectstatic: the admin's pages need plain static names.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def run_verify() -> tuple[int, str]:
    """audit_verify's exit status and what it said."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("audit_verify", stdout=out)
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.getvalue()


def drop_append_only_triggers():
    """What an attacker with database access would do first; the chain still tells."""
    with connection.cursor() as cursor:
        for table in ("pacnam_auditentry", "pacnam_auditlink"):
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only")


def test_every_change_is_logged_with_who_before_and_after(world):
    member = Member.objects.get(pk=world.member.pk)
    member._history_user = world.secretary
    member.position = "Trưởng thôn"
    member.save()
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "update"
    assert entry.object_type == "members.member" and entry.object_id == str(member.pk)
    assert entry.actor == world.secretary and entry.actor_name == "caotan"
    # Only what changed, with the old value kept.
    assert entry.before == {"position": ""}
    assert entry.after == {"position": "Trưởng thôn"}
    assert entry.object_repr == "Hoàng Văn Mạnh"


def test_creation_and_membership_are_logged_for_the_member_and_both_branches(world):
    created = audit_for_member(world.member)
    kinds = {(e.action, e.object_type) for e in created}
    assert ("create", "members.member") in kinds
    assert ("create", "members.membership") in kinds
    member_entry = next(e for e in created if e.object_type == "members.member")
    assert member_entry.after["citizen_id"] == world.member.citizen_id
    assert member_entry.after["admitted_on"] == "2005-05-19"
    assert member_entry.before is None

    membership_move(member=world.member, to_branch=world.branch2, on=D(2019, 4, 1))
    # The closed membership shows in the old branch's log, the new one in the new branch's.
    old_log = audit_for_branch(world.branch)
    new_log = audit_for_branch(world.branch2)
    closed = next(
        e for e in old_log if e.action == "update" and e.object_type == "members.membership"
    )
    assert closed.after == {"end_reason": "transferred", "ended_on": "2019-04-01"}
    assert any(e.action == "create" and e.object_type == "members.membership" for e in new_log)
    # The other commune's branch sees none of it.
    assert not any(
        e.object_id == str(world.member.pk) for e in audit_for_branch(world.other_branch)
    )


def test_a_save_that_changes_nothing_adds_no_entry(world):
    before = AuditEntry.objects.count()
    Member.objects.get(pk=world.member.pk).save()
    assert AuditEntry.objects.count() == before


def test_bulk_operation_is_one_entry_with_its_items(world):
    before = AuditEntry.objects.count()
    with audit_batch(
        "branch_dissolve",
        actor=world.secretary,
        description="Quyết định 12-QĐ/ĐU",
        subject=world.office,
    ) as batch:
        membership_move(
            member=world.cadre,
            to_branch=world.branch,
            on=D(2019, 4, 1),
            end_reason="branch_dissolved",
        )
        batch.note(world.member, "không cần chuyển")
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "branch_dissolve"
    assert entry.description == "Quyết định 12-QĐ/ĐU"
    assert entry.actor_name == "caotan"
    assert (
        entry.object_type == "branches.branch" and entry.object_repr == "Chi bộ cơ quan xã Cao Tân"
    )
    ops = sorted((item["op"], item["type"]) for item in entry.items)
    assert ops == [
        ("create", "members.membership"),
        ("note", "members.member"),
        ("update", "members.member"),  # the member's current branch
        ("update", "members.membership"),
    ]
    # The one entry is in the log of the dissolved branch, the receiving branch and the member.
    assert entry in audit_for_branch(world.office)
    assert entry in audit_for_branch(world.branch)
    assert entry in audit_for_member(world.cadre)
    assert run_verify()[0] == 0


def test_a_failed_bulk_operation_leaves_neither_changes_nor_entry(world):
    before = AuditEntry.objects.count()
    with (
        pytest.raises(RuntimeError),
        audit_batch("import", actor=world.admin, description="x.xlsx"),
    ):
        make_member(world.branch, name="Người Nhập")
        raise RuntimeError("row 7 is wrong")
    assert AuditEntry.objects.count() == before
    assert not Member.objects.filter(full_name="Người Nhập").exists()
    # And logging goes back to one entry per change afterwards.
    make_member(world.branch, name="Người Sau")
    assert AuditEntry.objects.count() == before + 2  # the member, their membership
    assert AuditEntry.objects.order_by("-seq")[1].object_repr == "Người Sau"


def test_nested_batches_make_one_entry(world):
    before = AuditEntry.objects.count()
    with audit_batch("undo", actor=world.district, description="outer"):
        with audit_batch("inner", actor=world.district):
            make_member(world.branch, name="A")
        make_member(world.branch, name="B")
    assert AuditEntry.objects.count() == before + 1
    assert len(AuditEntry.objects.order_by("-seq").first().items) == 4  # 2 members, 2 memberships


def test_audit_log_records_an_event_that_is_not_a_save(world):
    entry = audit_log(
        "export", actor=world.district, obj=world.branch, description="danh sách.xlsx"
    )
    assert entry.action == "export" and entry in audit_for_branch(world.branch)


def test_audit_verify_says_intact_and_exits_0(world):
    status, output = run_verify()
    assert status == 0
    count = AuditEntry.objects.count()
    assert count > 10
    assert f"intact: {count} entries" in output


def test_audit_verify_names_the_first_changed_entry(world):
    victim = AuditEntry.objects.order_by("seq")[4]
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pacnam_auditentry SET object_repr = %s WHERE id = %s",
            ["Someone Else", victim.pk],
        )
    status, message = run_verify()
    assert status == 1
    assert f"entry #{victim.seq}" in message and "changed" in message


def test_audit_verify_notices_a_rewritten_chain_link_and_a_removed_entry(world):
    entries = list(AuditEntry.objects.order_by("seq"))
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pacnam_auditlink WHERE entry_id = %s", [entries[2].pk])
        cursor.execute("DELETE FROM pacnam_auditentry WHERE id = %s", [entries[2].pk])
    status, message = run_verify()
    assert status == 1 and f"entry #{entries[2].seq} is missing" in message


def test_audit_verify_notices_entries_cut_off_the_end(world):
    last = AuditEntry.objects.order_by("-seq").first()
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pacnam_auditlink WHERE entry_id = %s", [last.pk])
        cursor.execute("DELETE FROM pacnam_auditentry WHERE id = %s", [last.pk])
    status, message = run_verify()
    assert status == 1 and f"#{last.seq}" in message


def test_the_application_cannot_change_or_delete_entries(world):
    entry = AuditEntry.objects.order_by("seq").first()
    original = entry.hash
    entry.object_repr = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(object_repr="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditLink.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.bulk_update([entry], ["object_repr"])
    assert AuditEntry.objects.get(pk=entry.pk).hash == original
    assert run_verify()[0] == 0


def test_the_database_refuses_updates_of_the_log_that_bypass_django(world):
    entry = AuditEntry.objects.order_by("seq").first()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE pacnam_auditentry SET object_repr = 'x' WHERE id = %s", [entry.pk])
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM pacnam_auditentry WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).object_repr == entry.object_repr


def test_a_user_who_acted_cannot_be_deleted(world):
    from django.db.models import ProtectedError

    member = Member.objects.get(pk=world.member.pk)
    member._history_user = world.secretary
    member.position = "x"
    member.save()
    with pytest.raises(ProtectedError):
        world.secretary.delete()


def test_admin_shows_the_log_read_only_even_to_superusers(world, login):
    client = login(world.admin)
    entry = AuditEntry.objects.order_by("seq").first()
    assert client.get("/admin/pacnam/auditentry/").status_code == 200
    page = client.get(f"/admin/pacnam/auditentry/{entry.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert client.get("/admin/pacnam/auditentry/add/").status_code == 403
    assert (
        client.post(f"/admin/pacnam/auditentry/{entry.pk}/change/", {"action": "x"}).status_code
        == 403
    )
    assert client.get(f"/admin/pacnam/auditentry/{entry.pk}/delete/").status_code == 403
    assert (
        client.post(f"/admin/pacnam/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    # A district officer with staff rights still sees nothing of it in the admin.
    world.district.is_staff = True
    world.district.save()
    assert login(world.district).get("/admin/pacnam/auditentry/").status_code == 403


def test_selectors_take_one_query_whatever_the_history(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        few = audit_for_member(world.member)
    for n in range(15):
        member = Member.objects.get(pk=world.member.pk)
        member.position = f"chức vụ {n}"
        member.save()
    membership_move(member=world.member, to_branch=world.branch2, on=D(2019, 4, 1))
    with django_assert_num_queries(1):
        many = audit_for_member(world.member)
    with django_assert_num_queries(1):
        audit_for_branch(world.branch)
    with django_assert_num_queries(1):
        audit_entries_for(world.commune)
    assert len(many) > len(few)
    assert len(audit_for_member(world.member, limit=5)) == 5
    # The snippet itself makes no query either.
    with django_assert_num_queries(0):
        render_to_string("pacnam/_audit.html", {"audit_entries": many})


def test_snippet_shows_who_when_and_the_change_in_vietnamese(world):
    from django.utils import translation

    member = Member.objects.get(pk=world.member.pk)
    member._history_user = world.secretary
    member.full_on = D(2006, 6, 1)
    member.save()
    with translation.override("vi"):
        html = render_to_string("pacnam/_audit.html", {"audit_entries": audit_for_member(member)})
    assert "caotan" in html
    assert "19/05/2006 → 01/06/2006" in html
    assert "Hoàng Văn Mạnh" in html
    with translation.override("vi"):
        empty = render_to_string("pacnam/_audit.html", {"audit_entries": []})
    assert "Chưa có thay đổi nào được ghi lại" in empty


def test_chain_restarts_cleanly_on_an_empty_log(db):
    assert AuditHead.objects.count() == 0
    commune = Commune.objects.create(code="01858", name="Bằng Thành")
    # The commune, and its period in the only province when the migrations made one.
    first = AuditEntry.objects.order_by("seq").first()
    assert first.seq == 1 and first.prev_hash == GENESIS_HASH
    assert audit_entries_for(commune)[-1] == first
    assert verify_chain().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain():
    commune = Commune.objects.create(code="01858", name="Bằng Thành")
    branch = make_branch(commune)
    barrier = threading.Barrier(4)
    errors = []

    def writer(n):
        try:
            barrier.wait()
            for i in range(5):
                with transaction.atomic():
                    make_member(branch, name=f"Người {n}-{i}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Membership.objects.filter(branch=branch).count() == 20
    report = verify_chain()
    assert report.ok, report.reason
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_changes_to_users_are_logged_without_revealing_password_hashes(world):
    user = world.outsider
    user._history_user = world.admin
    user.is_staff = True
    user.set_password("a-new-long-password")
    user.save()
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.object_type == "auth.user" and entry.object_repr == "giaohieu"
    assert entry.actor_name == "admin"
    assert entry.before["is_staff"] is False and entry.after["is_staff"] is True
    assert entry.before["password"].startswith("sha256:")
    assert entry.before["password"] != entry.after["password"]
    assert user.password not in str(entry.after) and "md5$" not in str(entry.sealed_fields([]))
    # A login only touches last_login: no entry.
    count = AuditEntry.objects.count()
    from django.contrib.auth.models import update_last_login

    update_last_login(None, user)
    assert AuditEntry.objects.count() == count


def test_bulk_created_rows_are_recorded_in_the_batch(world):
    villages = [Village(commune=world.commune, code=f"BK{i}", name=f"Thôn {i}") for i in range(3)]
    with audit_batch("import", actor=world.secretary, description="thon.xlsx") as batch:
        created = Village.objects.bulk_create(villages)
        for village in created:
            batch.record(village)
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "import" and len(entry.items) == 3
    assert {item["after"]["code"] for item in entry.items} == {"BK0", "BK1", "BK2"}
    assert entry in audit_entries_for(world.commune)
    assert verify_chain().ok


def test_an_outer_rollback_takes_the_batch_entry_with_it(world):
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        with audit_batch("undo", actor=world.district):
            make_member(world.branch, name="Tạm")
        raise RuntimeError("the caller changed its mind")
    assert AuditEntry.objects.count() == before
    assert verify_chain().ok
