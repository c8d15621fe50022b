"""The head anchored outside the database: every N entries and daily a line is
appended to AUDIT_ANCHOR_FILE once the entry is committed, and audit_verify catches
the end of the chain cut and the head moved back without anyone having noted it."""

import datetime

import pytest
from django.db import transaction

from pacnam.audit import trail as audit
from pacnam.audit.anchor import Anchor, anchor_due, latest_anchor
from pacnam.models import AuditEntry, AuditHead
from tests.test_audit_seal import run_verify, tamper


@pytest.fixture
def anchor_file(settings, tmp_path):
    path = tmp_path / "anchors" / "audit-anchor.log"
    path.parent.mkdir()
    settings.AUDIT_ANCHOR_FILE = str(path)
    settings.AUDIT_ANCHOR_EVERY = 3
    return path


def log_events(n: int, capture) -> list[AuditEntry]:
    entries = []
    for i in range(n):
        with capture(execute=True):
            entries.append(audit.audit_log("export", description=f"event {i}"))
    return entries


def anchored_seqs(path) -> list[int]:
    return [int(line.split()[0]) for line in path.read_text().splitlines()]


def test_every_nth_entry_and_the_first_are_anchored(
    db, anchor_file, django_capture_on_commit_callbacks
):
    entries = log_events(7, django_capture_on_commit_callbacks)
    seqs = [e.seq for e in entries]
    expected = [seqs[0]] + [s for s in seqs[1:] if s % 3 == 0]
    assert anchored_seqs(anchor_file) == expected
    last = latest_anchor(anchor_file)
    entry = AuditEntry.objects.get(seq=last.seq)
    assert last.hash == entry.hash and last.at == entry.at
    assert anchor_file.stat().st_mode & 0o777 == 0o600


def test_an_entry_rolled_back_is_not_anchored(db, anchor_file, django_capture_on_commit_callbacks):
    log_events(1, django_capture_on_commit_callbacks)
    before = anchor_file.read_text()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            for i in range(4):  # one of them is a multiple of 3
                audit.audit_log("export", description=f"undone {i}")
            raise RuntimeError
    assert anchor_file.read_text() == before


def test_nothing_is_written_without_a_file_configured(
    db, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.AUDIT_ANCHOR_FILE = ""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        audit.audit_log("export", description="no anchor")
    assert callbacks == [] and list(tmp_path.iterdir()) == []


def test_a_new_day_is_anchored_once():
    yesterday = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.UTC)
    previous = Anchor(10, "0" * 64, yesterday)
    assert anchor_due(11, yesterday + datetime.timedelta(days=1), previous)
    assert not anchor_due(11, yesterday + datetime.timedelta(minutes=5), previous)


def test_verify_names_the_anchor_it_checked(world, anchor_file, django_capture_on_commit_callbacks):
    log_events(3, django_capture_on_commit_callbacks)
    last = latest_anchor(anchor_file)
    status, output = run_verify()
    assert status == 0, output
    assert f"Anchor checked: entry #{last.seq}" in output


def test_cutting_the_end_and_moving_the_head_back_is_caught_by_the_anchor(
    world, anchor_file, django_capture_on_commit_callbacks
):
    entries = log_events(4, django_capture_on_commit_callbacks)
    anchored = latest_anchor(anchor_file)
    assert anchored.seq in [e.seq for e in entries]
    keep = AuditEntry.objects.get(seq=anchored.seq - 1)
    for entry in AuditEntry.objects.filter(seq__gte=anchored.seq):
        tamper("DELETE FROM pacnam_auditlink WHERE entry_id = %s", [entry.pk])
        tamper("DELETE FROM pacnam_auditentry WHERE id = %s", [entry.pk])
    AuditHead.objects.filter(pk=1).update(seq=keep.seq, hash=keep.hash, entry_id=keep.pk)
    status, message = run_verify()
    assert status == 1, message
    assert f"entry #{anchored.seq}" in message and str(anchor_file) in message


def test_a_line_cut_short_by_a_crash_is_passed_over(tmp_path):
    path = tmp_path / "anchor.log"
    good = Anchor(5, "a" * 64, datetime.datetime(2026, 12, 4, 8, 0, tzinfo=datetime.UTC))
    path.write_text(good.line() + "6 bbbb")
    assert latest_anchor(path) == good
