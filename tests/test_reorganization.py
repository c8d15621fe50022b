"""The 2025 reorganisation (issue 13): communes merged by one dated decision, the
history before the date untouched, the units of today in their new communes,
writes into ceased units refused, and the undo.

The test world's Cao Tân (01885) and Giáo Hiệu (01870) are joined by Cổ Linh
(01879) and Bộc Bố (01864), as in Pác Nặm: the plan merges Cao Tân and Cổ Linh
into Cao Minh (01879, Cổ Linh's code) and Giáo Hiệu and Bộc Bố into Bằng Thành
(01864, Bộc Bố's code), in Thái Nguyên (19).
"""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from branches.access import scope_for
from branches.models import (
    Branch,
    BranchInCommune,
    Commune,
    District,
    Province,
    Reorganization,
    RoleKind,
    Village,
)
from branches.services.reorganizations import (
    PlanLine,
    reorganization_apply,
    reorganization_plan,
    reorganization_undo,
)
from branches.services.units import commune_check_accepts
from meetings.models import Meeting
from meetings.services.meetings import meeting_create
from members.models import Member, Membership
from members.services.members import membership_move
from pacnam.lib.errors import DomainError, NotAllowed
from tests.conftest import make_branch, make_commune, make_member, make_user, make_village


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (their Vietnamese is checked apart, by
    test_translations.py and the crawl)."""
    with translation.override("en"):
        yield


D = datetime.date
JULY = D(2025, 7, 1)
PLAN = [
    ("01885", "01879", "Cao Minh"),
    ("01879", "01879", "Cao Minh"),
    ("01870", "01864", "Bằng Thành"),
    ("01864", "01864", "Bằng Thành"),
]


def lines(rows=PLAN, province=("19", "Thái Nguyên")):
    return [
        PlanLine(n, old, new, name, *province) for n, (old, new, name) in enumerate(rows, start=2)
    ]


@pytest.fixture
def pac_nam(world):
    """The world, two more communes, and their people in 2019."""
    world.co_linh = make_commune("01879", "Cổ Linh")
    world.boc_bo = make_commune("01864", "Bộc Bố")
    world.co_linh_branch = make_branch(
        world.co_linh, village=make_village(world.co_linh, "Nà Ngà"), name="Chi bộ thôn Nà Ngà"
    )
    world.boc_bo_branch = make_branch(
        world.boc_bo, village=make_village(world.boc_bo, "Nà Hin"), name="Chi bộ thôn Nà Hin"
    )
    world.co_linh_member = make_member(world.co_linh_branch, name="Đàm Văn Linh")
    return world


def export(kind, *args) -> str:
    out = io.StringIO()
    call_command("registry_export", kind, *args, stdout=out)
    return out.getvalue()


def apply(by=None):
    plan = reorganization_plan(lines=lines(), on=JULY)
    assert not plan.errors, plan.errors
    return reorganization_apply(plan=plan, decision="1683/NQ-UBTVQH15", by=by)


def test_history_before_the_date_is_byte_for_byte_the_same(pac_nam):
    kinds = ["members", "memberships", "villages", "branches"]
    before = {kind: export(kind, "--as-of", "2019-06-30") for kind in kinds}
    before_cao_tan = export("members", "--commune", "01885", "--as-of", "2019-06-30")
    communes_before = export("communes", "--as-of", "2019-06-30")
    apply()
    for kind in kinds:
        assert export(kind, "--as-of", "2019-06-30") == before[kind], kind
    assert export("members", "--commune", "01885", "--as-of", "2019-06-30") == before_cao_tan
    assert "Hoàng Văn Mạnh" in before_cao_tan
    # The communes differ only in the end of the ones that merged.
    after = export("communes", "--as-of", "2019-06-30").splitlines()
    for old, new in zip(communes_before.splitlines(), after, strict=True):
        code = old.split(",")[0]
        if code in {"01885", "01879", "01870", "01864"}:
            assert new == old.rstrip(",") + ",2025-06-30" or new == old[: -len(",")] + ",2025-06-30"
        else:
            assert new == old


def test_the_merged_communes_and_their_branches_on_the_date(pac_nam):
    w = pac_nam
    apply()
    cao_minh = Commune.objects.by_code("01879", JULY)
    assert cao_minh.name == "Cao Minh" and cao_minh.valid_from == JULY
    branches_then = set(Branch.objects.active_on(JULY).in_commune_on(cao_minh, JULY))
    assert branches_then == {w.branch, w.branch2, w.office, w.co_linh_branch}
    # Before the date they were Cao Tân's and Cổ Linh's, and Cao Minh had none.
    assert set(
        Branch.objects.active_on(D(2019, 6, 30)).in_commune_on(w.commune, D(2019, 6, 30))
    ) == {w.branch, w.branch2, w.office}
    assert not Branch.objects.in_commune_on(cao_minh, D(2019, 6, 30)).exists()
    w.branch.refresh_from_db()
    assert w.branch.commune == cao_minh and w.branch.code == Branch.objects.get(pk=w.branch.pk).code
    # Members and memberships are not touched.
    assert Membership.objects.filter(member=w.member).count() == 1
    w.commune.refresh_from_db()
    assert w.commune.valid_to == D(2025, 6, 30) and w.commune.merged_into == cao_minh
    thai_nguyen = Province.objects.get(code="19")
    assert (
        cao_minh.parent_period.province == thai_nguyen and cao_minh.parent_period.district is None
    )
    bac_kan = Province.objects.get(code="06")
    assert bac_kan.valid_to == D(2025, 6, 30) and bac_kan.merged_into == thai_nguyen
    assert District.objects.get(code="060").valid_to == D(2025, 6, 30)
    entry = w.branch.commune_periods.order_by("valid_from").last()
    assert (entry.commune, entry.valid_from, entry.valid_to) == (cao_minh, JULY, None)


def test_a_code_means_the_unit_that_bore_it_on_the_day(pac_nam):
    apply()
    assert Commune.objects.by_code("01864", D(2019, 6, 30)).name == "Bộc Bố"
    assert Commune.objects.by_code("01864", D(2026, 1, 1)).name == "Bằng Thành"
    assert Commune.objects.by_code("01885", D(2026, 1, 1)) is None
    assert Commune.objects.last_by_code("01885", D(2026, 1, 1)).name == "Cao Tân"
    # The commune page of today is Bằng Thành's; of 2019, Bộc Bố's.
    out = io.StringIO()
    call_command(
        "registry_export", "members", "--commune", "01864", "--as-of", "2019-06-30", stdout=out
    )
    assert "Triệu Văn Páo" not in out.getvalue()


def test_a_ceased_unit_accepts_nothing_dated_after_it(pac_nam):
    w = pac_nam
    lost = make_commune("01999", "Xã Cũ")  # in Pác Nặm, and not in the plan
    lost_branch = make_branch(lost, village=make_village(lost, "Thôn Cũ"))
    apply()
    w.commune.refresh_from_db()
    with pytest.raises(DomainError, match="30/06/2025"):
        commune_check_accepts(w.commune, D(2025, 8, 1))
    commune_check_accepts(w.commune, D(2025, 6, 30))
    # A commune that ended with no successor: its branch takes no member, no move,
    # no meeting dated after.
    Commune.objects.filter(pk=lost.pk).update(valid_to=D(2024, 12, 31))
    BranchInCommune.objects.filter(branch=lost_branch).update(valid_to=D(2024, 12, 31))
    with pytest.raises(DomainError, match="31/12/2024"):
        membership_move(member=w.member, to_branch=lost_branch, on=D(2025, 2, 1))
    with pytest.raises(DomainError, match="31/12/2024"):
        meeting_create(
            scope=scope_for(w.district),
            user=w.district,
            meeting=Meeting(branch=lost_branch, date=D(2025, 2, 10), kind="regular"),
        )
    with pytest.raises(DomainError, match="31/12/2024"):
        make_member(lost_branch, since=D(2025, 3, 1))
    assert not Meeting.objects.filter(branch=lost_branch).exists()
    assert not Member.objects.filter(branch=lost_branch).exists()
    # Dated before it ceased, the same writes go through.
    membership_move(member=w.member, to_branch=lost_branch, on=D(2024, 6, 1))


def test_a_ceased_commune_takes_no_new_village_in_the_browser_either(pac_nam, login):
    w = pac_nam
    apply()
    client = login(w.district)
    response = client.post(
        "/villages/new/", {"commune": w.commune.pk, "code": "V-NEW", "name": "Thôn Mới"}
    )
    assert response.status_code == 200  # the form again: Cao Tân is not a choice today
    assert not Village.objects.filter(code="V-NEW").exists()


@pytest.mark.parametrize(
    "rows, start, error",
    [
        (
            [("01885", "01879", "Cao Minh"), ("01999", "01879", "Cao Minh")],
            None,
            "row 3: old_code: ",
        ),
        ([("01885", "01870", "Cao Minh")], None, "row 2: new_code: "),
        ([("01885", "1879", "Cao Minh")], None, "row 2: new_code: "),
        (
            [("01885", "01879", "Cao Minh"), ("01885", "01879", "Cao Minh")],
            None,
            "row 3: old_code: ",
        ),
        ([("01885", "01879", "Cao Minh")], D(2025, 7, 1), "row 2: old_code: "),
    ],
    ids=[
        "unknown old code",
        "new code borne outside the plan",
        "malformed code",
        "twice in the plan",
        "a later change",
    ],
)
def test_plan_errors_name_their_row_and_column(pac_nam, rows, start, error):
    if start is not None:
        make_village(pac_nam.commune, "Thôn Sau", valid_from=start)  # a change on the date itself
    plan = reorganization_plan(lines=lines(rows), on=JULY)
    assert any(str(e).startswith(error) for e in plan.errors), [str(e) for e in plan.errors]


def test_the_same_plan_twice_is_refused_and_writes_nothing(pac_nam):
    apply()
    plan = reorganization_plan(lines=lines(), on=JULY)
    assert [str(e).split(":")[0:2] for e in plan.errors][:1] == [["row 2", " old_code"]]
    assert "already ended on 30/06/2025" in str(plan.errors[0])
    count = Commune.objects.count()
    with pytest.raises(DomainError):
        reorganization_apply(plan=plan, decision="again", by=None)
    assert Commune.objects.count() == count


def test_the_command_keeps_its_contract(pac_nam, tmp_path):
    path = tmp_path / "plan.csv"
    path.write_text(
        "old_code,new_code,new_name,province_code,province_name\n"
        + "\n".join(f"{old},{new},{name},19,Thái Nguyên" for old, new, name in PLAN)
        + "\n",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "reorganize_units",
        str(path),
        "--date",
        "2025-07-01",
        "--decision",
        "1683/NQ-UBTVQH15",
        "--dry-run",
        stdout=out,
        stderr=err,
    )
    assert (
        "01879 Cao Minh (Thái Nguyên, 19) <- Cao Tân (01885), Cổ Linh (01879): 3 villages, 4 branches, 3 members"
        in out.getvalue()
    )
    assert (
        not Reorganization.objects.exists()
        and Commune.objects.by_code("01879", JULY).name == "Cổ Linh"
    )
    call_command(
        "reorganize_units",
        str(path),
        "--date",
        "2025-07-01",
        "--decision",
        "1683/NQ-UBTVQH15",
        stdout=out,
        stderr=err,
    )
    assert Commune.objects.by_code("01879", JULY).name == "Cao Minh"
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "reorganize_units",
            str(path),
            "--date",
            "2025-07-01",
            "--decision",
            "x",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert err.getvalue().startswith("row 2: old_code: ")
    bad = tmp_path / "bad.csv"
    bad.write_text("old,new\n01885,01879\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command(
            "reorganize_units",
            str(bad),
            "--date",
            "2025-07-01",
            "--decision",
            "x",
            stdout=io.StringIO(),
            stderr=(err := io.StringIO()),
        )
    assert err.getvalue().startswith("row 1: header: ")


def test_undo_puts_everything_back_while_nothing_changed_since(pac_nam):
    w = pac_nam
    before = {kind: export(kind) for kind in ("communes", "villages", "branches", "members")}
    reorganization = apply(by=w.district)
    with pytest.raises(NotAllowed):
        reorganization_undo(reorganization=reorganization, by=w.secretary)
    reorganization_undo(reorganization=reorganization, by=w.district)
    for kind, text in before.items():
        assert export(kind) == text, kind
    assert not Province.objects.filter(code="19").exists()
    assert Commune.objects.by_code("01879", D(2026, 1, 1)).name == "Cổ Linh"
    # The export above is a command, which turns the registry's language on.
    with translation.override("en"), pytest.raises(DomainError, match="already undone"):
        reorganization_undo(reorganization=Reorganization.objects.get(), by=w.district)


def test_undo_is_refused_once_something_changed_in_the_new_communes(pac_nam):
    w = pac_nam
    reorganization = apply(by=w.district)
    make_user("caominh", RoleKind.COMMUNE_SECRETARY, commune=Commune.objects.by_code("01879", JULY))
    with pytest.raises(DomainError, match="changed"):
        reorganization_undo(reorganization=reorganization, by=w.district)
    assert Commune.objects.by_code("01879", JULY).name == "Cao Minh"


def test_scopes_in_time(pac_nam, login):
    """The secretary of the merged commune sees its branches and their history; the
    old commune's secretary keeps the old commune's history and edits nothing now;
    the province officer sees all; the district officer keeps the district's years."""
    w = pac_nam
    apply()
    cao_minh = Commune.objects.by_code("01879", JULY)
    caominh = make_user("caominh", RoleKind.COMMUNE_SECRETARY, commune=cao_minh, valid_from=JULY)
    thainguyen = make_user(
        "thainguyen",
        RoleKind.PROVINCE_OFFICER,
        province=Province.objects.get(code="19"),
        valid_from=JULY,
    )
    scope = scope_for(caominh)
    assert set(scope.branches()) >= {w.branch, w.branch2, w.co_linh_branch, w.office}
    assert w.other_branch not in set(scope.branches())
    assert scope.can_edit_commune(cao_minh.pk) and not scope.can_edit_commune(w.commune.pk)
    assert set(scope.communes()) == {cao_minh, w.commune, w.co_linh}
    old = scope_for(w.secretary)
    w.branch.refresh_from_db()
    assert w.branch in set(old.branches()) and not old.can_edit_branch(w.branch)
    province = scope_for(thainguyen)
    assert set(province.communes()) == set(Commune.objects.all()) and province.sees_all
    assert province.can_edit_commune(cao_minh.pk) and not province.can_edit_commune(w.commune.pk)
    district = scope_for(w.district)
    assert cao_minh not in set(district.communes()) and w.commune in set(district.communes())
    assert w.branch in set(district.branches()) and not district.sees_all
    # Pages: the merged commune's secretary opens the 2019 roster of a branch now in it.
    client = login(caominh)
    assert client.get(f"/branches/{w.branch.pk}/?as_of=2019-06-30").status_code == 200
    assert client.get(f"/branches/{w.other_branch.pk}/").status_code == 404
    assert client.get(f"/members/{w.member.pk}/").status_code == 200


def test_a_role_that_ended_sees_nothing(world, login):
    user = world.retired  # our commune's secretary until 31/12/2020
    assert scope_for(user).level == "none"
    assert login(user).get(f"/branches/{world.branch.pk}/").status_code == 404


def test_the_commune_page_shows_the_commune_of_the_day(pac_nam, login):
    w = pac_nam
    apply()
    client = login(w.district)
    then = client.get("/communes/01864/?as_of=30/06/2019")
    assert then.status_code == 200 and then.context["commune"] == w.boc_bo
    assert {b.pk for b in then.context["branches"]} == {w.boc_bo_branch.pk}
    # Today the code is Bằng Thành's, which the district officer (of a district
    # that ended) does not see; the province's officer does, with its predecessors.
    thainguyen = make_user(
        "thainguyen", RoleKind.PROVINCE_OFFICER, province=Province.objects.get(code="19")
    )
    now = login(thainguyen).get("/communes/01864/")
    assert now.context["commune"].name == "Bằng Thành"
    assert {c.name for c in now.context["predecessors"]} == {"Giáo Hiệu", "Bộc Bố"}
    assert {b.pk for b in now.context["branches"]} == {w.other_branch.pk, w.boc_bo_branch.pk}
    # A ceased commune's page opens on its last day and says where it went.
    ceased = login(w.district).get("/communes/01885/")
    assert ceased.context["commune"] == w.commune and ceased.context["as_of"] == D(2025, 6, 30)
    assert "Cao Minh" in ceased.content.decode()
    assert w.branch.pk in {b.pk for b in ceased.context["branches"]}


def test_reports_group_the_branches_by_the_communes_of_their_period(pac_nam, login):
    w = pac_nam
    apply()
    out = io.StringIO()
    call_command("meeting_report", "--month", "2019-05", "--commune", "01885", stdout=out)
    lines = out.getvalue().splitlines()[1:]
    assert {line.split(",")[0] for line in lines} == {"01885"}
    assert {line.split(",")[1] for line in lines} == {w.branch.code, w.branch2.code, w.office.code}
    out = io.StringIO()
    call_command("meeting_report", "--month", "2025-08", "--commune", "01879", stdout=out)
    lines = out.getvalue().splitlines()[1:]
    assert {line.split(",")[0] for line in lines} == {"01879"}
    assert w.co_linh_branch.code in {line.split(",")[1] for line in lines}
    # The page groups 2019 under Cao Tân, though its branches are Cao Minh's today.
    rows = login(w.district).get("/meetings/reports/?month=2019-05").context["rows"]
    assert {r.branch.commune_then_name for r in rows if r.branch.pk == w.branch.pk} == {"Cao Tân"}
