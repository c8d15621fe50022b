"""The registry's bulk operations each leave one audit entry, and single moves
are logged too (issue 8 wired into issues 2 and 3)."""

import datetime

from members.importing import import_rows
from members.services import branch_dissolve, dissolution_undo, membership_move
from pacnam.models import AuditEntry

D = datetime.date


def _new_entries(before):
    return list(AuditEntry.objects.filter(seq__gt=before).order_by("seq"))


def _last_seq():
    last = AuditEntry.objects.order_by("-seq").first()
    return last.seq if last else 0


def test_a_dissolution_is_one_entry_with_every_move(world):
    before = _last_seq()
    batch = branch_dissolve(branch=world.office, decision="15-QĐ/ĐU", on=D(2019, 4, 1), by=world.secretary)
    entries = _new_entries(before)
    assert [e.action for e in entries] == ["branch_dissolve"]
    types = {item["type"] for item in entries[0].items}
    assert {"members.membership", "members.member", "branches.branch"} <= types
    assert entries[0].actor_name == "caotan"
    before = _last_seq()
    dissolution_undo(batch=batch, by=world.district)
    assert [e.action for e in _new_entries(before)] == ["dissolution_undo"]


def test_an_import_is_one_entry_with_its_rows(world):
    before = _last_seq()
    table = [["code", "name"], ["01858", "Bằng Thành"], ["01861", "Nhạn Môn"]]
    plan = import_rows(kind="communes", table=table, source="communes.csv")
    assert not plan.errors
    entries = _new_entries(before)
    assert [e.action for e in entries] == ["import"]
    assert entries[0].description == "communes communes.csv"
    assert sorted(item["repr"] for item in entries[0].items) == ["Bằng Thành", "Nhạn Môn"]


def test_a_move_records_the_members_new_branch(world):
    before = _last_seq()
    membership_move(member=world.member, to_branch=world.branch2, on=D(2020, 1, 1))
    member_updates = [
        e for e in _new_entries(before)
        if e.object_type == "members.member" and e.action == "update"
    ]
    assert member_updates
    assert member_updates[0].after["branch_id"] == world.branch2.pk
    assert member_updates[0].before["branch_id"] == world.branch.pk
