"""registry_backup / registry_restore: complete, deterministic, refuses to overwrite."""

import datetime
import gzip
import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError

from branches.models import Branch, Role
from members.models import Member, Membership
from members.services.members import member_leave, membership_move
from pacnam.audit.chain import verify_chain
from pacnam.audit.trail import audit_batch
from pacnam.models import AuditEntry, AuditHead
from pacnam.ops.backup import backup_models
from tests.conftest import make_member

D = datetime.date


def fill(world):
    """Some of everything: history with updates, a batch entry, a group with permissions."""
    with audit_batch(
        "branch_dissolve", actor=world.secretary, description="QĐ 12", subject=world.office
    ):
        membership_move(
            member=world.cadre,
            to_branch=world.branch,
            on=D(2019, 4, 1),
            end_reason="branch_dissolved",
        )
    member_leave(member=world.other_member, on=D(2020, 1, 1), reason="died")
    make_member(world.branch2, name="Đặng Thị Nhất", full_on=None)
    clerks = Group.objects.create(name="Văn thư")
    clerks.permissions.set(Permission.objects.filter(codename__in=["view_member", "change_member"]))
    world.district.groups.add(clerks)
    # A second factor, and a read of a member's page.
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from pacnam.models import ReadLogEntry
    from pacnam.security.second_factor import new_recovery_codes

    TOTPDevice.objects.create(user=world.district, name="authenticator", confirmed=True)
    new_recovery_codes(world.district)
    ReadLogEntry.objects.create(
        actor=world.district,
        actor_name="district",
        action="member_view",
        object_type="members.member",
        object_id=str(world.member.pk),
    )


def tables_rows():
    return {m._meta.label_lower: m._base_manager.count() for m in backup_models()}


@pytest.mark.django_db(transaction=True)
def test_backup_restore_backup_gives_the_same_archive(world, tmp_path):
    fill(world)
    first, second = tmp_path / "first.jsonl.gz", tmp_path / "second.jsonl.gz"
    call_command("registry_backup", str(first))
    rows_before = tables_rows()
    hashes_before = list(AuditEntry.objects.order_by("seq").values_list("hash", flat=True))
    password_before = get_user_model().objects.get(username="caotan").password

    call_command("flush", interactive=False, verbosity=0)  # an empty, migrated database
    assert Member.objects.count() == 0 and AuditEntry.objects.count() == 0

    call_command("registry_restore", str(first))
    call_command("registry_backup", str(second))
    assert first.read_bytes() == second.read_bytes()

    # And it is really all there, history and audit trail included.
    assert tables_rows() == rows_before
    assert rows_before["members.historicalmember"] > 0
    assert rows_before["pacnam.auditentry"] > 0
    assert rows_before["otp_totp.totpdevice"] == 1 and rows_before["otp_static.statictoken"] == 10
    assert rows_before["pacnam.readlogentry"] == 1
    assert list(AuditEntry.objects.order_by("seq").values_list("hash", flat=True)) == hashes_before
    assert verify_chain().ok
    call_command("audit_verify")  # exits 0
    user = get_user_model().objects.get(username="caotan")
    assert user.password == password_before and user.check_password("pw-caotan")
    assert Role.objects.get(user=user).commune.name == "Cao Tân"
    district = get_user_model().objects.get(username="district")
    assert district.has_perm("members.change_member")
    assert (
        Membership.objects.filter(member__full_name="Lý Thị Huyền", ended_on__isnull=True)
        .get()
        .branch.name
        == "Chi bộ thôn Cốc Lải"
    )
    assert Member.history.filter(full_name="Triệu Văn Páo").count() >= 2

    # New rows get fresh ids after the restore (PostgreSQL sequences were reset),
    # and the audit chain continues from where the archive left it.
    branch = Branch.objects.get(name="Chi bộ thôn Nà Khâu")
    make_member(branch, name="Người Mới")
    assert AuditHead.objects.get().seq == AuditEntry.objects.count()
    assert verify_chain().ok


def test_archive_is_gzip_json_lines_in_dependency_order(world, tmp_path):
    path = tmp_path / "a.jsonl.gz"
    call_command("registry_backup", str(path))
    lines = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
    header, rows = lines[0], lines[1:]
    assert header["format"] == "pacnam-registry-backup"
    head = AuditHead.objects.get()
    assert header["audit_head"] == {"seq": head.seq, "hash": head.hash}
    order = header["tables"]
    for earlier, later in [
        ("auth.user", "branches.role"),
        ("branches.commune", "branches.village"),
        ("branches.branch", "members.member"),
        ("members.member", "members.membership"),
        ("pacnam.auditentry", "pacnam.auditlink"),
    ]:
        assert order.index(earlier) < order.index(later)
    assert "members.historicalmember" in order and "auth.user_groups" in order
    seen = [row["m"] for row in rows]
    assert seen == sorted(seen, key=order.index)  # table by table, in that order
    # Nothing in the gzip header changes between runs (mtime 0, no file name).
    assert path.read_bytes()[4:8] == b"\0\0\0\0"
    again = tmp_path / "b.jsonl.gz"
    call_command("registry_backup", str(again))
    assert again.read_bytes() == path.read_bytes()


def test_restore_refuses_a_database_with_data(world, tmp_path):
    path = tmp_path / "a.jsonl.gz"
    call_command("registry_backup", str(path))
    members = Member.objects.count()
    with pytest.raises(CommandError) as refused:
        call_command("registry_restore", str(path))
    assert refused.value.returncode == 1
    assert "not empty" in str(refused.value)
    assert Member.objects.count() == members


def test_restore_refuses_a_file_that_is_not_a_backup(db, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(CommandError) as refused:
        call_command("registry_restore", str(path))
    assert refused.value.returncode == 1 and "not a registry backup" in str(refused.value)
    with pytest.raises(CommandError) as missing:
        call_command("registry_restore", str(tmp_path / "nope.gz"))
    assert missing.value.returncode == 1


@pytest.mark.django_db(transaction=True)
def test_a_damaged_archive_restores_nothing(world, tmp_path):
    path = tmp_path / "a.jsonl.gz"
    call_command("registry_backup", str(path))
    lines = gzip.decompress(path.read_bytes()).splitlines()
    # Cut the archive after the members: their memberships point nowhere... and a bad line.
    damaged = b"\n".join(lines[: len(lines) // 2] + [b"{not json"]) + b"\n"
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(gzip.compress(damaged))
    call_command("flush", interactive=False, verbosity=0)
    with pytest.raises(CommandError) as refused:
        call_command("registry_restore", str(bad))
    assert refused.value.returncode == 1 and "damaged" in str(refused.value)
    # One transaction: not even the rows before the bad line stay.
    assert get_user_model().objects.count() == 0 and Branch.objects.count() == 0


# --- Private and encrypted archives (issue 16) ---

BACKUP_KEY = "backup-passphrase-for-tests-only"


def test_the_archive_is_created_readable_by_its_owner_only(world, tmp_path, settings):
    import os
    import stat

    previous = os.umask(0)  # even where the umask would let everyone read
    try:
        plain = tmp_path / "plain.jsonl.gz"
        call_command("registry_backup", str(plain))
        old = tmp_path / "old.jsonl.gz"
        old.write_bytes(b"an older archive")
        old.chmod(0o644)
        settings.BACKUP_KEY = BACKUP_KEY
        call_command("registry_backup", str(old))  # replaces a world-readable file
    finally:
        os.umask(previous)
    for path in (plain, old):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.part"))  # no temporary file left behind


def test_the_archive_is_never_world_readable_while_it_is_written(world, tmp_path, monkeypatch):
    """Created with 0600, not chmod-ed afterwards: check the mode in the middle of writing."""
    import stat

    from pacnam.ops import backup

    modes = []
    original = backup._line

    def spy(data):
        if not modes:
            [part] = tmp_path.glob(".*.part")
            modes.append(stat.S_IMODE(part.stat().st_mode))
        return original(data)

    monkeypatch.setattr(backup, "_line", spy)
    call_command("registry_backup", str(tmp_path / "a.jsonl.gz"))
    assert modes == [0o600]


@pytest.mark.django_db(transaction=True)
def test_an_encrypted_backup_restores_identically(world, tmp_path, settings, monkeypatch):
    from pacnam.security import encryption

    monkeypatch.setattr(encryption, "CHUNK", 1024)  # many chunks, as a large registry has
    fill(world)
    plain_before, encrypted, plain_after = (
        tmp_path / "plain.jsonl.gz",
        tmp_path / "secret.jsonl.gz.enc",
        tmp_path / "after.jsonl.gz",
    )
    call_command("registry_backup", str(plain_before))
    settings.BACKUP_KEY = BACKUP_KEY
    call_command("registry_backup", str(encrypted))
    data = encrypted.read_bytes()
    assert data.startswith(encryption.MAGIC) and len(data) > 3 * 1024
    assert b"caotan" not in data and not data[len(encryption.MAGIC) :].startswith(b"\x1f\x8b")

    call_command("flush", interactive=False, verbosity=0)
    call_command("registry_restore", str(encrypted))
    settings.BACKUP_KEY = ""
    call_command("registry_backup", str(plain_after))
    assert plain_after.read_bytes() == plain_before.read_bytes()
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_a_wrong_or_missing_key_refuses_and_restores_nothing(world, tmp_path, settings):
    settings.BACKUP_KEY = BACKUP_KEY
    path = tmp_path / "secret.jsonl.gz.enc"
    call_command("registry_backup", str(path))
    call_command("flush", interactive=False, verbosity=0)

    settings.BACKUP_KEY = "not-the-right-passphrase"
    with pytest.raises(CommandError) as wrong:
        call_command("registry_restore", str(path))
    assert wrong.value.returncode == 1
    assert "cannot be decrypted with BACKUP_KEY" in str(wrong.value)
    assert "passphrase does not open it" in str(wrong.value)

    settings.BACKUP_KEY = ""
    with pytest.raises(CommandError) as missing:
        call_command("registry_restore", str(path))
    assert "encrypted: set BACKUP_KEY" in str(missing.value)
    assert get_user_model().objects.count() == 0 and Member.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_cut_or_changed_encrypted_archive_restores_nothing(
    world, tmp_path, settings, monkeypatch
):
    from pacnam.security import encryption

    monkeypatch.setattr(encryption, "CHUNK", 1024)
    settings.BACKUP_KEY = BACKUP_KEY
    path = tmp_path / "secret.jsonl.gz.enc"
    call_command("registry_backup", str(path))
    data = path.read_bytes()
    call_command("flush", interactive=False, verbosity=0)
    cut, changed = tmp_path / "cut.enc", tmp_path / "changed.enc"
    # Cut at a chunk boundary: every chunk left decrypts, but the last one is missing.
    offsets, offset = [], encryption._HEADER.size
    while offset < len(data):
        offsets.append(offset)
        offset += 4 + int.from_bytes(data[offset : offset + 4], "big")
    assert offset == len(data) and len(offsets) > 3
    cut.write_bytes(data[: offsets[-1]])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    changed.write_bytes(bytes(flipped))
    for bad, words in ((cut, "cut off"), (changed, "was changed")):
        with pytest.raises(CommandError) as refused:
            call_command("registry_restore", str(bad))
        assert refused.value.returncode == 1 and words in str(refused.value), str(refused.value)
    assert get_user_model().objects.count() == 0 and Branch.objects.count() == 0


# --- The restore of docs/backups.md, step by step (issue 23) ---


def _scratch_database(tmp_path):
    """A NEW database beside the test database, as DATABASE_URL, and how to drop it:
    a file on SQLite, `<test database>_restore` on PostgreSQL."""
    from django.db import connection

    if connection.vendor == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}", lambda: None
    params = connection.settings_dict
    name = f"{params['NAME']}_restore"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    auth = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
    port = params.get("PORT") or 5432
    return f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{port}/{name}", drop


def _manage(url, *args):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "DATABASE_URL": url}
    env.pop("DATABASE_REPLICA_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.django_db(transaction=True)
def test_the_documented_restore_into_a_new_migrated_database(world, tmp_path, settings):
    """docs/backups.md, "Test them (monthly)": a new database, `migrate`,
    `registry_restore`, `audit_verify` -- in separate processes, as an operator
    types them. The migrations' own rows (Bắc Kạn, Pác Nặm) are no obstacle."""
    settings.BACKUP_KEY = BACKUP_KEY
    fill(world)
    archive = tmp_path / "registry.jsonl.gz.enc"
    call_command("registry_backup", str(archive))
    settings.BACKUP_KEY = ""
    plain = tmp_path / "before.jsonl.gz"
    call_command("registry_backup", str(plain))
    head = AuditHead.objects.get()

    url, drop = _scratch_database(tmp_path)
    try:
        import os

        os.environ["BACKUP_KEY"] = BACKUP_KEY
        try:
            status, out = _manage(url, "migrate", "--no-input", "-v0")
            assert status == 0, out
            status, out = _manage(url, "registry_restore", str(archive))
            assert status == 0 and "Restored" in out, out
            status, out = _manage(url, "audit_verify", "--expect-head", f"#{head.seq} {head.hash}")
            assert status == 0 and "intact" in out, out
        finally:
            del os.environ["BACKUP_KEY"]
        again = tmp_path / "after.jsonl.gz"
        status, out = _manage(url, "registry_backup", str(again))
        assert status == 0, out
        assert again.read_bytes() == plain.read_bytes()
        # Restoring twice is refused: the database now holds registry data.
        status, out = _manage(url, "registry_restore", str(plain))
        assert status == 1 and "not empty" in out, out
    finally:
        drop()


def test_the_migrations_rows_are_recognised_only_while_unchanged(db, tmp_path):
    """A new database holds the migrations' Bắc Kạn and Pác Nặm and counts as empty;
    renamed, or with another row beside it, it holds data and a restore is refused."""
    from branches.models import District, Province
    from pacnam.ops.backup import non_empty_tables

    if not Province.objects.filter(code="06").exists():  # emptied by an earlier flush
        province = Province.objects.create(code="06", name="Bắc Kạn")
        District.objects.create(code="060", name="Pác Nặm", province=province)
    District.objects.exclude(code="060").delete()
    tables = {"branches.province", "branches.district"}
    assert not tables & set(non_empty_tables())
    District.objects.filter(code="060").update(name="Pác Nặm mới")
    assert "branches.district" in non_empty_tables()
    District.objects.filter(code="060").update(name="Pác Nặm")
    Province.objects.create(code="19", name="Thái Nguyên")
    assert "branches.province" in non_empty_tables()
