"""The keyed seal (issue 16): whoever owns the database but not AUDIT_KEY cannot
change any field of an entry, a link, the order or the head without
audit_verify naming the first bad entry; another key fails too; the unkeyed
log of before the upgrade and a rotated key are sealed with `--reseal`."""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from branches.models import Commune
from members.models import Member
from pacnam.audit import chain as audit_chain
from pacnam.audit import trail as audit
from pacnam.models import GENESIS_HASH, AuditEntry, AuditHead, AuditLink

OTHER_KEY = "another-key-of-the-same-length-0123456789abcdef"


def run_verify(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.getvalue()


def tamper(sql: str, params=()):
    """Run SQL as the issue's attacker did: past the append-only triggers
    (PostgreSQL: session_replication_role = replica, which also skips foreign keys)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
            try:
                cursor.execute(sql, params)
            finally:
                cursor.execute("SET session_replication_role = DEFAULT")
        else:
            for table in ("pacnam_auditentry", "pacnam_auditlink"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only")
            cursor.execute(sql, params)


def json_sql() -> str:
    return "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"


@pytest.fixture
def victim(world):
    """An entry in the middle of the chain with links: a member's creation."""
    entry = (
        AuditEntry.objects.filter(object_type="members.member", action="create")
        .order_by("seq")
        .first()
    )
    assert entry.links.count() >= 2 and entry.seq < AuditEntry.objects.count()
    assert run_verify()[0] == 0
    return entry


def expect_broken_at(entry_seq: int, *words: str) -> str:
    status, message = run_verify()
    assert status == 1, message
    assert f"entry #{entry_seq}:" in message, message
    for word in words:
        assert word in message, message
    return message


def test_the_seal_covers_every_stored_field_of_an_entry():
    """A field added to AuditEntry must be added to the seal: this fails until it is."""
    stored = {f.name for f in AuditEntry._meta.concrete_fields} - {"hash"}
    entry = AuditEntry(at=timezone.now(), row_digests={})
    assert set(entry.sealed_fields([])) == stored | {"links"}


# One changed value per stored field, written the way the attacker would.
FIELD_TAMPERING = {
    "seq": ("seq", lambda e, w: 10**6),
    "at": ("at", lambda e, w: e.at + datetime.timedelta(seconds=1)),
    "actor": ("actor_id", lambda e, w: w.admin.pk if e.actor_id != w.admin.pk else w.district.pk),
    "actor_name": ("actor_name", lambda e, w: "mallory"),
    "action": ("action", lambda e, w: "delete"),
    "object_type": ("object_type", lambda e, w: "members.membership"),
    "object_id": ("object_id", lambda e, w: "999999"),
    "object_repr": ("object_repr", lambda e, w: "Someone Else"),
    "description": ("description", lambda e, w: "forged"),
    "before": ("before", lambda e, w: json.dumps({"full_name": "Someone Else"})),
    "after": ("after", lambda e, w: json.dumps({**e.after, "full_name": "Someone Else"})),
    "items": (
        "items",
        lambda e, w: json.dumps(
            [
                {
                    "op": "note",
                    "type": "",
                    "id": "",
                    "repr": "",
                    "before": None,
                    "after": {"note": "x"},
                }
            ]
        ),
    ),
    "key_id": ("key_id", lambda e, w: audit.key_id(OTHER_KEY)),
    "prev_hash": ("prev_hash", lambda e, w: "f" * 64),
    "row_digests": (
        "row_digests",
        lambda e, w: json.dumps({f"members.member:{e.object_id}": "0" * 64}),
    ),
}


def test_every_field_has_a_tampering_case():
    assert set(FIELD_TAMPERING) | {"id"} == {f.name for f in AuditEntry._meta.concrete_fields} - {
        "hash"
    }


@pytest.mark.parametrize("field", sorted(FIELD_TAMPERING))
def test_changing_any_field_of_an_entry_is_caught(world, victim, settings, field):
    # The other key is known (an old key): a changed key id still does not fit the seal.
    settings.AUDIT_OLD_KEYS = [OTHER_KEY]
    column, value = FIELD_TAMPERING[field]
    placeholder = json_sql() if field in ("before", "after", "items", "row_digests") else "%s"
    tamper(
        f"UPDATE pacnam_auditentry SET {column} = {placeholder} WHERE id = %s",
        [value(victim, world), victim.pk],
    )
    if field == "seq":
        expect_broken_at(victim.seq, "missing")
    else:
        expect_broken_at(victim.seq)


def test_changing_an_entrys_id_with_its_links_is_caught(world, victim):
    tamper("UPDATE pacnam_auditlink SET entry_id = %s WHERE entry_id = %s", [10**7, victim.pk])
    tamper("UPDATE pacnam_auditentry SET id = %s WHERE id = %s", [10**7, victim.pk])
    expect_broken_at(victim.seq, "changed")


@pytest.mark.parametrize("column", ["object_type", "object_id"])
def test_changing_a_links_object_type_or_id_is_caught(world, victim, column):
    link = victim.links.order_by("pk").first()
    value = getattr(link, column) + "0"
    tamper(f"UPDATE pacnam_auditlink SET {column} = %s WHERE id = %s", [value, link.pk])
    expect_broken_at(victim.seq, "links")


def test_removing_adding_or_moving_a_link_is_caught(world, victim):
    link = victim.links.order_by("pk").first()
    tamper("DELETE FROM pacnam_auditlink WHERE id = %s", [link.pk])
    expect_broken_at(victim.seq)


def test_adding_a_link_to_an_entry_is_caught(world, victim):
    tamper(
        "INSERT INTO pacnam_auditlink (entry_id, object_type, object_id) VALUES (%s, %s, %s)",
        [victim.pk, "members.member", str(world.other_member.pk)],
    )
    expect_broken_at(victim.seq)


def test_a_link_moved_to_no_entry_is_caught(world, victim):
    link = victim.links.order_by("pk").first()
    tamper("UPDATE pacnam_auditlink SET entry_id = %s WHERE id = %s", [10**7, link.pk])
    expect_broken_at(victim.seq)
    tamper(
        "UPDATE pacnam_auditlink SET entry_id = %s WHERE id = %s", [victim.pk, link.pk]
    )  # for teardown's FK check


def test_a_link_that_belongs_to_no_entry_is_caught(world):
    tamper(
        "INSERT INTO pacnam_auditlink (entry_id, object_type, object_id) VALUES (%s, %s, %s)",
        [10**7, "members.member", "1"],
    )
    status, message = run_verify()
    assert status == 1 and "belong to no entry" in message
    tamper("DELETE FROM pacnam_auditlink WHERE entry_id = %s", [10**7])  # for teardown's FK check


def test_swapping_two_entries_is_caught(world, victim):
    other = AuditEntry.objects.get(seq=victim.seq + 1)
    tamper("UPDATE pacnam_auditentry SET seq = %s WHERE id = %s", [10**6, victim.pk])
    tamper("UPDATE pacnam_auditentry SET seq = %s WHERE id = %s", [victim.seq, other.pk])
    tamper("UPDATE pacnam_auditentry SET seq = %s WHERE id = %s", [other.seq, victim.pk])
    expect_broken_at(victim.seq)


@pytest.mark.parametrize("column", ["seq", "hash", "entry_id", "deleted"])
def test_changing_or_removing_the_head_is_caught(world, column):
    last = AuditEntry.objects.order_by("-seq").first()
    if column == "deleted":
        AuditHead.objects.filter(pk=1).delete()
    else:
        value = {"seq": last.seq - 1, "hash": "e" * 64, "entry_id": last.pk + 5}[column]
        AuditHead.objects.filter(pk=1).update(**{column: value})
    status, message = run_verify()
    assert status == 1 and "head" in message, message


def test_cutting_the_end_and_moving_the_head_back_is_caught_by_a_noted_head(world):
    status, output = run_verify("--head")
    assert status == 0
    noted = output.strip().splitlines()[-1]
    seq, seal = noted.lstrip("#").split()
    last = AuditEntry.objects.get(seq=int(seq))
    assert last.hash == seal and len(seal) == 64
    previous = AuditEntry.objects.get(seq=last.seq - 1)
    tamper("DELETE FROM pacnam_auditlink WHERE entry_id = %s", [last.pk])
    tamper("DELETE FROM pacnam_auditentry WHERE id = %s", [last.pk])
    AuditHead.objects.filter(pk=1).update(
        seq=previous.seq, hash=previous.hash, entry_id=previous.pk
    )
    # The chain alone cannot tell a cut end from a shorter log...
    assert run_verify()[0] == 0
    # ...the head noted off the machine can.
    status, message = run_verify("--expect-head", noted)
    assert status == 1 and f"entry #{last.seq}" in message


def test_verifying_under_another_key_fails(world, settings):
    settings.AUDIT_KEY = OTHER_KEY
    message = expect_broken_at(1, "key")
    assert "AUDIT_KEY" in message


def test_resealing_with_the_projects_own_function_but_without_the_key_is_caught(world, victim):
    """The issue's attack: change an entry, recompute every seal after it with
    the project's code, move the head. Without AUDIT_KEY the seals are wrong."""
    guessed = b"a guess at the key"
    entries = list(AuditEntry.objects.filter(seq__gte=victim.seq).order_by("seq"))
    prev = AuditEntry.objects.get(seq=victim.seq - 1).hash
    for entry in entries:
        if entry.pk == victim.pk:
            entry.object_repr = "Someone Else"
        entry.prev_hash = prev
        links = list(entry.links.values_list("object_type", "object_id"))
        entry.hash = entry.compute_seal(guessed, links)
        tamper(
            "UPDATE pacnam_auditentry SET object_repr = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [entry.object_repr, entry.prev_hash, entry.hash, entry.pk],
        )
        prev = entry.hash
    AuditHead.objects.filter(pk=1).update(hash=prev)
    expect_broken_at(victim.seq, "changed")


def test_rewriting_entries_as_unkeyed_ones_is_caught(world, victim):
    """Passing entries off as from before the log was keyed (plain SHA-256) fails too."""
    entries = list(AuditEntry.objects.filter(seq__gte=victim.seq).order_by("seq"))
    prev = AuditEntry.objects.get(seq=victim.seq - 1).hash
    for entry in entries:
        entry.key_id, entry.prev_hash = "", prev
        entry.hash = entry.legacy_hash()
        tamper(
            "UPDATE pacnam_auditentry SET key_id = '', prev_hash = %s, hash = %s WHERE id = %s",
            [entry.prev_hash, entry.hash, entry.pk],
        )
        prev = entry.hash
    AuditHead.objects.filter(pk=1).update(hash=prev)
    expect_broken_at(victim.seq)


# --- Key rotation ---


def test_a_rotated_key_keeps_old_entries_verifiable(world, settings):
    old_key = settings.AUDIT_KEY
    sealed_before = AuditEntry.objects.count()
    settings.AUDIT_KEY, settings.AUDIT_OLD_KEYS = OTHER_KEY, [old_key]
    # Until an entry is sealed with the new key, an old key could reseal the whole log.
    status, message = run_verify()
    assert status == 1 and "--reseal" in message and f"entry #{sealed_before}:" in message
    status, output = run_verify("--reseal")
    assert status == 0 and "intact" in output
    seal_entry = AuditEntry.objects.order_by("-seq").first()
    assert seal_entry.action == audit_chain.SEAL_ACTION and seal_entry.key_id == audit.key_id(
        OTHER_KEY
    )
    Commune.objects.create(code="01858", name="Bằng Thành")
    assert AuditEntry.objects.order_by("-seq").first().key_id == audit.key_id(OTHER_KEY)
    assert run_verify()[0] == 0
    # Without the old key, its entries cannot be verified.
    settings.AUDIT_OLD_KEYS = []
    expect_broken_at(1, "key")


# --- The unkeyed log of before the upgrade ---


def _write_legacy_log(count: int) -> list[AuditEntry]:
    """Entries as the registry wrote them before issue 16: plain SHA-256, no key id."""
    prev, entries = GENESIS_HASH, []
    for seq in range(1, count + 1):
        entry = AuditEntry(
            id=seq * 3,
            seq=seq,
            at=timezone.now(),
            action="create",
            object_type="branches.commune",
            object_id=str(seq),
            object_repr=f"Xã {seq}",
            after={"name": f"Xã {seq}"},
            prev_hash=prev,
        )
        entry.hash = entry.legacy_hash()
        entry.save()
        AuditLink.objects.create(entry=entry, object_type="branches.commune", object_id=str(seq))
        prev = entry.hash
        entries.append(entry)
    AuditHead.objects.create(pk=1, seq=count, hash=prev, entry_id=entries[-1].pk)
    return entries


def test_the_unkeyed_log_is_sealed_once_with_reseal(db):
    legacy = _write_legacy_log(4)
    # The registry goes on writing, now with seals.
    Commune.objects.create(code="01858", name="Bằng Thành")
    status, message = run_verify()
    assert status == 1 and "entry #1:" in message and "--reseal" in message
    status, output = run_verify("--reseal")
    assert status == 0 and "Sealed the 4 entries" in output and legacy[-1].hash in output
    assert run_verify()[0] == 0
    assert run_verify("--reseal")[1].startswith("Nothing to seal")
    seal_entry = AuditEntry.objects.get(action=audit_chain.SEAL_ACTION)

    # A link of an unkeyed entry, which its plain hash never covered, is covered now.
    tamper("UPDATE pacnam_auditlink SET object_id = %s WHERE entry_id = %s", ["77", legacy[1].pk])
    expect_broken_at(seal_entry.seq, "before the log was keyed")


def test_a_changed_unkeyed_entry_is_caught_and_not_resealed(db):
    legacy = _write_legacy_log(3)
    tamper("UPDATE pacnam_auditentry SET object_repr = %s WHERE id = %s", ["Xã Giả", legacy[1].pk])
    expect_broken_at(2, "changed")
    status, message = run_verify("--reseal")
    assert status == 1 and "Nothing sealed" in message
    assert not AuditEntry.objects.filter(action=audit_chain.SEAL_ACTION).exists()


def test_unkeyed_entries_rehashed_after_the_upgrade_are_caught(db):
    """Recomputing the plain hashes of the old entries breaks the first sealed entry."""
    legacy = _write_legacy_log(3)
    Commune.objects.create(code="01858", name="Bằng Thành")
    first_sealed = AuditEntry.objects.get(seq=4)
    prev = legacy[0].hash
    for entry in legacy[1:]:
        entry.object_repr, entry.prev_hash = entry.object_repr + " (giả)", prev
        entry.hash = entry.legacy_hash()
        tamper(
            "UPDATE pacnam_auditentry SET object_repr = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [entry.object_repr, entry.prev_hash, entry.hash, entry.pk],
        )
        prev = entry.hash
    expect_broken_at(first_sealed.seq, "previous seal")


def test_new_entries_take_the_id_after_the_last_and_seal_it(world):
    last = AuditEntry.objects.order_by("-seq").first()
    member = Member.objects.get(pk=world.member.pk)
    member.position = "Trưởng thôn"
    member.save()
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.pk == last.pk + 1 and entry.key_id == audit.key_ring().current_id
    assert AuditHead.objects.get().entry_id == entry.pk
