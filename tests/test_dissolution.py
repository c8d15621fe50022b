"""Dissolving a branch: the plan, the batch, the undo, the command and the race."""

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from branches.access import scope_for
from branches.models import Branch, BranchKind
from members.models import DissolutionBatch, Member, Membership, Transfer
from members.selectors.dissolutions import branch_dissolution_plan, policy_progress
from members.selectors.members import member_timeline
from members.services.dissolutions import branch_dissolve, dissolution_undo
from members.services.members import membership_move
from members.services.transfers import transfer_request
from pacnam.lib.errors import DomainError, NotAllowed
from tests.conftest import make_branch, make_member, make_village
from tests.test_transfers import run_at_once

D = datetime.date
APRIL = D(2019, 4, 1)


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English; the Vietnamese catalogue is checked apart."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def current_branch(member):
    return Membership.objects.get(member=member, kind="official", ended_on__isnull=True).branch


@pytest.fixture
def office(world):
    """The Cao Tân commune office with three cadres: two live in villages with a
    branch (Cốc Lải, Nà Khâu), one in a village without one (Bản Chang)."""
    w = world
    w.cadre2 = make_member(w.office, village=w.village2, name="Đinh Văn Tú", is_commune_cadre=True)
    w.no_branch_village = make_village(w.commune, "Bản Chang")
    w.homeless = make_member(
        w.office, village=w.no_branch_village, name="Bàn Văn Sinh", is_commune_cadre=True
    )
    return w


def test_plan_proposes_the_village_branch_where_each_member_lives(office):
    rows = {r.member.pk: r for r in branch_dissolution_plan(branch=office.office, on=APRIL)}
    assert rows[office.cadre.pk].destination == office.branch  # Cốc Lải
    assert rows[office.cadre2.pk].destination == office.branch2  # Nà Khâu
    assert rows[office.homeless.pk].needs_decision
    assert not Branch.objects.get(pk=office.office.pk).is_dissolved  # a plan changes nothing


def test_plan_takes_two_queries_whatever_the_size(office, django_assert_num_queries):
    for i in range(5):
        make_member(
            office.office, village=office.village, name=f"Cán bộ {i}", is_commune_cadre=True
        )
    with django_assert_num_queries(2):  # memberships with members; village branches
        branch_dissolution_plan(branch=office.office, on=APRIL)


def test_nothing_changes_while_a_member_is_unplaced(office):
    with pytest.raises(DomainError, match="Bàn Văn Sinh"):
        branch_dissolve(branch=office.office, decision="15-QĐ/ĐU", on=APRIL, by=office.secretary)
    assert not DissolutionBatch.objects.exists()
    assert current_branch(office.cadre) == office.office
    assert not Branch.objects.get(pk=office.office.pk).is_dissolved


def test_dissolution_moves_everyone_in_one_batch(office):
    batch = branch_dissolve(
        branch=office.office,
        decision="15-QĐ/ĐU",
        on=APRIL,
        by=office.secretary,
        assignments={office.homeless.pk: office.branch2},
    )
    branch = Branch.objects.get(pk=office.office.pk)
    assert branch.dissolved_on == APRIL and branch.dissolution_decision == "15-QĐ/ĐU"
    assert batch.moves.count() == 3 and batch.performed_by == office.secretary
    assert current_branch(office.cadre) == office.branch
    assert current_branch(office.homeless) == office.branch2
    assert batch.moves.get(member=office.homeless).decided_by_person
    # The as-of roster tells the story on either side of the date.
    before = set(
        Membership.objects.roster(branch, D(2019, 3, 31)).values_list("member_id", flat=True)
    )
    assert before == {office.cadre.pk, office.cadre2.pk, office.homeless.pk}
    assert not Membership.objects.roster(branch, APRIL).exists()
    assert office.cadre.pk in Membership.objects.roster(office.branch, APRIL).values_list(
        "member_id", flat=True
    )
    assert any("branch dissolved" == e.detail for e in member_timeline(office.cadre))


def test_outsider_and_branch_secretary_may_not_dissolve(office):
    for user in (office.outsider, office.branch_secretary):
        with pytest.raises(NotAllowed):
            branch_dissolve(
                branch=office.office,
                decision="1",
                on=APRIL,
                by=user,
                assignments={office.homeless.pk: office.branch2},
            )
    assert not DissolutionBatch.objects.exists()


def test_a_secretary_may_not_place_a_member_in_another_commune(office):
    with pytest.raises(NotAllowed):
        branch_dissolve(
            branch=office.office,
            decision="1",
            on=APRIL,
            by=office.secretary,
            assignments={office.homeless.pk: office.other_branch},
        )
    assert current_branch(office.homeless) == office.office


def test_a_pending_transfer_blocks_the_dissolution(office):
    transfer_request(
        on=D(2019, 3, 1), by=office.secretary, member=office.cadre2, to_branch=office.branch
    )
    with pytest.raises(DomainError, match="transfer is in progress"):
        branch_dissolve(
            branch=office.office,
            decision="1",
            on=APRIL,
            by=office.secretary,
            assignments={office.homeless.pk: office.branch2},
        )
    assert not Branch.objects.get(pk=office.office.pk).is_dissolved


def test_undo_restores_the_branch_and_every_membership(office):
    batch = branch_dissolve(
        branch=office.office,
        decision="15-QĐ/ĐU",
        on=APRIL,
        by=office.secretary,
        assignments={office.homeless.pk: office.branch2},
    )
    with pytest.raises(NotAllowed, match="officer of the province"):
        dissolution_undo(batch=batch, by=office.secretary)
    dissolution_undo(batch=batch, by=office.district)
    branch = Branch.objects.get(pk=office.office.pk)
    assert not branch.is_dissolved and branch.dissolution_decision == ""
    for member in (office.cadre, office.cadre2, office.homeless):
        assert current_branch(member) == office.office
        assert Member.objects.get(pk=member.pk).branch == office.office
    assert office.cadre.pk in Membership.objects.roster(branch, D(2019, 6, 1)).values_list(
        "member_id", flat=True
    )
    assert (
        not Membership.objects.roster(office.branch, D(2019, 6, 1))
        .filter(member=office.cadre)
        .exists()
    )
    batch.refresh_from_db()
    assert batch.undone_by == office.district and batch.undone_at
    with pytest.raises(DomainError, match="already undone"):
        dissolution_undo(batch=batch, by=office.district)


def test_undo_is_refused_after_a_later_move(office):
    batch = branch_dissolve(
        branch=office.office,
        decision="15-QĐ/ĐU",
        on=APRIL,
        by=office.secretary,
        assignments={office.homeless.pk: office.branch2},
    )
    membership_move(member=office.cadre2, to_branch=office.branch, on=D(2019, 9, 1))
    with pytest.raises(DomainError, match="Đinh Văn Tú has moved"):
        dissolution_undo(batch=batch, by=office.district)
    assert Branch.objects.get(pk=office.office.pk).is_dissolved
    assert current_branch(office.cadre) == office.branch


def test_policy_progress_counts_cadres_per_commune_and_village_branch(office):
    communes, villages = policy_progress(scope_for(office.district))
    cao_tan = next(c for c in communes if c.commune == office.commune)
    assert (
        not cao_tan.office_dissolved
        and cao_tan.cadres_unplaced == 3
        and cao_tan.cadres_in_villages == 0
    )
    branch_dissolve(
        branch=office.office,
        decision="15-QĐ/ĐU",
        on=APRIL,
        by=office.secretary,
        assignments={office.homeless.pk: office.branch2},
    )
    communes, villages = policy_progress(scope_for(office.district))
    cao_tan = next(c for c in communes if c.commune == office.commune)
    assert cao_tan.office_dissolved and (cao_tan.cadres_in_villages, cao_tan.cadres_unplaced) == (
        3,
        0,
    )
    coc_lai = next(b for b in villages if b.pk == office.branch.pk)
    assert (coc_lai.cadre_count, coc_lai.member_count) == (1, 2)  # 1 of 2
    nà_khâu = next(b for b in villages if b.pk == office.branch2.pk)
    assert (nà_khâu.cadre_count, nà_khâu.member_count) == (2, 2)


# --- The command ------------------------------------------------------------------


def run(*args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("dissolve_branch", *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        err.write(str(exc))
        code = 1
    return code, out.getvalue(), err.getvalue()


def test_command_lists_unplaced_members_and_changes_nothing(office):
    code, out, err = run(office.office.code, "--decision", "15-QĐ/ĐU", "--date", "2019-04-01")
    assert code == 1
    assert (
        f"{office.cadre.citizen_id}  Lý Thị Huyền  {office.office.code} -> {office.branch.code}"
        in out
    )
    assert f"{office.homeless.citizen_id}  Bàn Văn Sinh  {office.office.code} -> ?" in out
    assert "Bàn Văn Sinh" in err and "Nothing was changed" in err
    assert not Branch.objects.get(pk=office.office.pk).is_dissolved


def test_command_dry_run_changes_nothing(office):
    code, out, _ = run(
        office.office.code,
        "--decision",
        "15",
        "--date",
        "2019-04-01",
        "--assign",
        f"{office.homeless.citizen_id}={office.branch2.code}",
        "--dry-run",
    )
    assert code == 0
    assert (
        f"{office.homeless.citizen_id}  Bàn Văn Sinh  {office.office.code} -> {office.branch2.code}"
        in out
    )
    assert not DissolutionBatch.objects.exists()


def test_command_dissolves_and_records_the_system(office):
    code, out, _ = run(
        office.office.code,
        "--decision",
        "15-QĐ/ĐU",
        "--date",
        "2019-04-01",
        "--assign",
        f"{office.homeless.citizen_id}={office.branch2.code}",
    )
    assert code == 0, out
    lines = [line for line in out.splitlines() if "->" in line]
    assert len(lines) == 3
    batch = DissolutionBatch.objects.get()
    assert batch.via_command and batch.performed_by is None and batch.moves.count() == 3
    assert current_branch(office.homeless) == office.branch2


@pytest.mark.parametrize("code_kind", ["unknown", "dissolved"])
def test_command_refuses_unknown_or_dissolved_branch(world, code_kind):
    if code_kind == "unknown":
        code_arg = "NO-SUCH"
    else:
        code_arg = make_branch(
            world.commune, kind=BranchKind.OTHER, dissolved_on=APRIL, dissolution_decision="9"
        ).code
    code, out, err = run(code_arg, "--decision", "1", "--date", "2019-04-01")
    assert code == 1 and out == ""
    assert ("No branch has the code" if code_kind == "unknown" else "already dissolved") in err


def test_command_refuses_a_bad_assignment(office):
    code, _, err = run(
        office.office.code, "--decision", "1", "--date", "2019-04-01", "--assign", "x=NOPE"
    )
    assert code == 1 and "Unknown branch code" in err


# --- The race -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dissolution_racing_a_transfer_out_of_the_branch(office):
    cadre = Member.objects.get(pk=office.cadre.pk)

    def dissolve():
        return branch_dissolve(
            branch=office.office,
            decision="15-QĐ/ĐU",
            on=APRIL,
            by=office.secretary,
            assignments={office.homeless.pk: office.branch2},
        ).pk

    def transfer():
        return transfer_request(
            on=D(2019, 3, 1), by=office.district, member=cadre, to_branch=office.other_branch
        ).pk

    results = run_at_once(dissolve, transfer)
    assert sorted(r[0] for r in results) == ["ok", "refused"], results
    dissolved = Branch.objects.get(pk=office.office.pk).is_dissolved
    pending = Transfer.objects.in_progress().filter(member=cadre).exists()
    assert dissolved != pending  # exactly one of them happened
    for member in (office.cadre, office.cadre2, office.homeless):
        assert (
            Membership.objects.filter(member=member, kind="official", ended_on__isnull=True).count()
            == 1
        )
