"""The registry's bulk operations each leave one audit entry, and single moves
are logged too (issue 8 wired into issues 2 and 3)."""

import datetime
import io

from members.io.apply import import_rows
from members.services.dissolutions import branch_dissolve, dissolution_undo
from members.services.members import membership_move
from pacnam.models import AuditEntry

D = datetime.date


def _new_entries(before):
    return list(AuditEntry.objects.filter(seq__gt=before).order_by("seq"))


def _last_seq():
    last = AuditEntry.objects.order_by("-seq").first()
    return last.seq if last else 0


def test_a_dissolution_is_one_entry_with_every_move(world):
    before = _last_seq()
    batch = branch_dissolve(
        branch=world.office, decision="15-QĐ/ĐU", on=D(2019, 4, 1), by=world.secretary
    )
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
    # Each commune, and its period in the registry's only province.
    communes = [item["repr"] for item in entries[0].items if item["type"] == "branches.commune"]
    assert sorted(communes) == ["Bằng Thành", "Nhạn Môn"]
    periods = [item for item in entries[0].items if item["type"] == "branches.communeinprovince"]
    assert len(periods) == 2


def test_a_move_records_the_members_new_branch(world):
    before = _last_seq()
    membership_move(member=world.member, to_branch=world.branch2, on=D(2020, 1, 1))
    member_updates = [
        e
        for e in _new_entries(before)
        if e.object_type == "members.member" and e.action == "update"
    ]
    assert member_updates
    assert member_updates[0].after["branch_id"] == world.branch2.pk
    assert member_updates[0].before["branch_id"] == world.branch.pk


def test_a_large_member_import_links_every_member_and_keeps_the_chain(world, monkeypatch):
    """Beyond COPY_LINKS_FROM links (an import of thousands) they are written with
    COPY on PostgreSQL, and the members' history rows without model instances:
    each new member must still find the import in its log, with its history row."""
    from django.core.management import call_command

    from members.models import Member
    from pacnam.audit import trail as audit

    monkeypatch.setattr(audit, "COPY_LINKS_FROM", 1)
    before = _last_seq()
    header = [
        "citizen_id",
        "full_name",
        "gender",
        "birth_date",
        "ethnicity",
        "residence_village_code",
        "position",
        "is_commune_cadre",
        "admitted_on",
        "full_on",
        "card_number",
        "branch_code",
        "since",
    ]
    rows = [
        [
            f"00119000000{i}",
            f"Người Nhập {i}",
            "nam",
            "01/02/1990",
            "Tày",
            world.village.code,
            "",
            "",
            "05/06/2015",
            "",
            "",
            world.branch.code,
            "",
        ]
        for i in range(3)
    ]
    plan = import_rows(kind="members", table=[header, *rows], actor=world.secretary, source="m.csv")
    assert not plan.errors, plan.errors
    [entry] = _new_entries(before)
    for i in range(3):
        member = Member.objects.get(citizen_id=f"00119000000{i}")
        assert audit.audit_for_member(member)[0] == entry
        [created] = member.history.all()
        assert (created.history_type, created.full_name, created.branch_id) == (
            "+",
            f"Người Nhập {i}",
            world.branch.pk,
        )
        assert member.memberships.get().history.get().history_type == "+"
    call_command("audit_verify", stdout=io.StringIO())  # the chain still verifies
