"""The demo district: Pác Nặm's story from March 2019 to today (devtools/demo/).

One build for the whole story (it takes seconds, not milliseconds): the test
reads the registry between its pages, the rosters of 2019 just before and just
after the 2025 reorganisation, then what a newcomer sees today.
"""

import datetime
import io
from collections import defaultdict

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone, translation

from branches.access import SYSTEM_SCOPE, scope_for
from branches.models import Branch, BranchKind, Commune, Province, Reorganization
from devtools.demo import REORGANIZATION_DECISION, REORGANIZED_ON, DemoBuilder
from meetings.models import Attendance, Meeting, MeetingKind, MeetingStatus, Standing, Task
from meetings.services.attendance import roll_lines
from members.io.export import export_rows, write_csv
from members.models import (
    Candidate,
    DissolutionBatch,
    Evaluation,
    Member,
    Membership,
    MemberStatus,
    Transfer,
    TransferStatus,
)
from members.selectors.growth import badge_members, probations_due_counts
from members.selectors.transfers import overdue_transfers
from overview.selectors.dashboard import member_totals

D = datetime.date
OLD_CODES = {
    "01858",
    "01861",
    "01864",
    "01867",
    "01870",
    "01873",
    "01876",
    "01879",
    "01882",
    "01885",
}
NEW_COMMUNES = {"01864": "Bằng Thành", "01879": "Cao Minh", "01882": "Nghiên Loan"}
MID_2019 = D(2019, 6, 30)


def authenticate(username: str, password: str = "demo"):
    user = get_user_model().objects.get(username=username)
    return user if user.check_password(password) else None


def seed(*args) -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def export(kind: str, on: datetime.date, commune=None) -> str:
    out = io.StringIO()
    write_csv(export_rows(kind, as_of=on, commune=commune), out)
    return out.getvalue()


def exports_2019() -> dict[str, str]:
    return {
        kind: export(kind, MID_2019) for kind in ("members", "memberships", "villages", "branches")
    }


def roster_columns(members_csv: str) -> list[tuple]:
    """Who was in which branch since when: the columns no later event may change
    (a member who moved house since has a new village of residence)."""
    rows = [line.split(",") for line in members_csv.splitlines()]
    return [(row[0], row[1], row[-2], row[-1]) for row in rows]


@pytest.mark.django_db
def test_seed_demo_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        seed()
    assert not Commune.objects.exists()


@pytest.mark.django_db
def test_seed_demo_if_empty_leaves_an_existing_registry_alone(settings):
    settings.DEBUG = True
    Commune.objects.create(code="01885", name="Cao Tân")
    output = seed("--if-empty")
    assert "not loaded" in output
    assert Commune.objects.count() == 1 and not Branch.objects.exists()


@pytest.mark.django_db
def test_seed_demo_tells_its_story_only_in_an_empty_registry(settings):
    settings.DEBUG = True
    Commune.objects.create(code="01234", name="Xã Khác")
    with pytest.raises(CommandError, match="empty registry"):
        seed()
    assert Commune.objects.count() == 1 and not Member.objects.exists()


@pytest.mark.django_db
def test_seed_demo_force_runs_with_debug_off(settings, monkeypatch):
    settings.DEBUG = False
    built = []
    monkeypatch.setattr(DemoBuilder, "build", lambda self: built.append(self.today) or {"users": 0})
    output = seed("--force")
    assert built == [timezone.localdate()]
    assert "Demo district loaded" in output


@pytest.mark.django_db
def test_the_demo_tells_pac_nam_from_2019_to_today(settings, client):
    settings.DEBUG = True
    today = timezone.localdate()
    builder = DemoBuilder()

    # --- March 2019 ---------------------------------------------------------------
    builder.snapshot()
    assert set(Commune.objects.values_list("code", flat=True)) == OLD_CODES
    assert Branch.objects.count() == 143
    assert (
        Branch.objects.filter(kind=BranchKind.COMMUNE_OFFICE).values("commune").distinct().count()
        == 10
    )
    khau_slom = Branch.objects.get(code="01870-T01")
    assert (khau_slom.village.name, khau_slom.village.households, khau_slom.village.population) == (
        "Khâu Slôm",
        58,
        305,
    )
    assert Member.objects.filter(branch=khau_slom).count() == 7
    huyen = Member.objects.get(full_name="Lý Thị Huyền")
    assert huyen.position == "Phó Bí thư Đảng ủy xã" and huyen.residence_village.name == "Cốc Lải"
    assert huyen.branch.kind == BranchKind.COMMUNE_OFFICE and huyen.branch.commune.name == "Cao Tân"
    for branch in Branch.objects.all():
        assert Member.objects.filter(branch=branch, full_on__isnull=False).count() >= 3, branch

    # --- April 2019: every office branch dissolved through the service ------------------
    builder.dissolve_offices()
    batches = DissolutionBatch.objects.select_related("branch")
    assert batches.count() == 10 and all(
        b.branch.kind == BranchKind.COMMUNE_OFFICE for b in batches
    )
    assert {b.dissolved_on.month for b in batches} == {4} and {
        b.dissolved_on.year for b in batches
    } == {2019}
    assert not Branch.objects.filter(
        kind=BranchKind.COMMUNE_OFFICE, dissolved_on__isnull=True
    ).exists()
    assert (
        batches.get(branch__commune__code="01879").moves.filter(decided_by_person=True).count() == 3
    )

    # --- To the eve of the reorganisation, then the reorganisation itself ---------------
    builder.tell(REORGANIZED_ON - datetime.timedelta(days=1))
    before = exports_2019()
    communes_before = export("communes", MID_2019)
    builder.reorganize()
    assert exports_2019() == before, "the reorganisation rewrote a roster of 2019"
    # The communes of 2019 differ only in their end (valid_to, the last column).
    strip = lambda text: [line.rsplit(",", 1)[0] for line in text.splitlines()]  # noqa: E731
    assert strip(export("communes", MID_2019)) == strip(communes_before)
    reorganization = Reorganization.objects.get()
    assert (reorganization.decision, reorganization.on) == (REORGANIZATION_DECISION, REORGANIZED_ON)

    # --- To today ------------------------------------------------------------------------
    builder.tell(today)
    builder.hold_meetings()
    builder.give_roles()
    after = exports_2019()
    # Later years end some of these memberships (a death in 2026) and move some
    # members house; who was in which branch in 2019, and since when, stays.
    assert roster_columns(after["members"]) == roster_columns(before["members"])
    first_four = lambda text: [line.split(",")[:4] for line in text.splitlines()]  # noqa: E731
    assert first_four(after["memberships"]) == first_four(before["memberships"])
    for kind in ("villages", "branches"):
        assert after[kind] == before[kind], kind
    assert "nothing changed" in seed()

    # The district's report of September 2019, as the README quotes it.
    for day, size, cadres in ((D(2019, 3, 1), 7, 0), (MID_2019, 10, 3), (D(2019, 9, 19), 10, 3)):
        roster = Membership.objects.roster(khau_slom, day).official()
        assert (roster.count(), roster.filter(member__is_commune_cadre=True).count()) == (
            size,
            cadres,
        ), day
    coc_lai = Branch.objects.get(code="01885-T01")
    in_coc_lai = Membership.objects.roster(coc_lai, MID_2019).filter(member__is_commune_cadre=True)
    assert (
        set(in_coc_lai.values_list("member__full_name", flat=True)) >= {"Lý Thị Huyền"}
        and in_coc_lai.count() == 2
    )

    # Code 01864: Bộc Bố in 2019, Bằng Thành since 1 July 2025.
    assert Commune.objects.by_code("01864", MID_2019).name == "Bộc Bố"
    assert Commune.objects.by_code("01864", D(2026, 1, 1)).name == "Bằng Thành"
    bang_thanh = Commune.objects.by_code("01864", D(2026, 1, 1))
    assert bang_thanh.parent_period.province.code == "19"
    assert {c.code: c.name for c in Commune.objects.valid_on(today)} == NEW_COMMUNES

    # Cao Minh's roster of branches on 1 July 2025: every branch alive in Công Bằng,
    # Cổ Linh and Cao Tân the day before, and their members.
    cao_minh = Commune.objects.by_code("01879", REORGANIZED_ON)
    eve = REORGANIZED_ON - datetime.timedelta(days=1)
    olds = [Commune.objects.by_code(code, eve) for code in ("01867", "01879", "01885")]
    expected = set()
    for old in olds:
        expected |= set(
            Branch.objects.in_commune_on(old, eve).active_on(eve).values_list("code", flat=True)
        )
    assert (
        set(Branch.objects.in_commune_on(cao_minh, REORGANIZED_ON).values_list("code", flat=True))
        == expected
    )
    assert len(expected) == 38
    members_then = export("members", REORGANIZED_ON, commune=cao_minh).splitlines()[1:]
    members_eve = sum((export("members", eve, commune=old).splitlines()[1:] for old in olds), [])
    assert sorted(members_then) == sorted(members_eve) and members_then

    # --- What each login sees today (the README's table) ------------------------------------
    logins = {
        name: authenticate(name)
        for name in ("admin", "district", "thainguyen", "caotan", "giaohieu", "caominh", "khauslom")
    }
    assert all(logins.values()) and logins["admin"].is_superuser
    province = scope_for(logins["thainguyen"])
    assert province.level == "province" and province.communes().count() == 13
    assert province.branches().count() == 143
    assert province.editable_commune_ids == frozenset(
        Commune.objects.valid_on(today).values_list("pk", flat=True)
    )
    district = scope_for(logins["district"])
    assert set(district.communes().values_list("code", flat=True)) == OLD_CODES
    assert district.communes().count() == 10 and district.branches().count() == 143
    khau_slom.refresh_from_db()
    assert khau_slom.commune.name == "Bằng Thành"
    assert not district.can_edit_branch(khau_slom)  # a commune of the province now
    caominh = scope_for(logins["caominh"])
    assert set(caominh.communes().values_list("name", flat=True)) == {
        "Cao Minh",
        "Công Bằng",
        "Cổ Linh",
        "Cao Tân",
    }
    assert caominh.branches().count() == 41 and caominh.branches().active().count() == 38
    assert caominh.can_edit_commune(cao_minh.pk) and not caominh.can_edit_commune(olds[2].pk)
    assert Member.objects.visible_to(caominh).filter(full_name="Lý Thị Huyền").exists()
    assert not Member.objects.visible_to(caominh).filter(branch=khau_slom).exists()
    caotan = scope_for(logins["caotan"])
    assert (
        set(caotan.communes().values_list("name", flat=True)) == {"Cao Tân"}
        and caotan.branches().count() == 13
    )
    assert Member.objects.visible_to(caotan).filter(full_name="Lý Thị Huyền").exists()
    giaohieu = scope_for(logins["giaohieu"])
    assert (
        giaohieu.branches().count() == 14 and giaohieu.branches().filter(pk=khau_slom.pk).exists()
    )
    assert list(scope_for(logins["khauslom"]).branches()) == [khau_slom]
    assert Province.objects.get(code="06").merged_into.code == "19"

    # --- A newcomer's dashboard today: this month's figures, not zeros ----------------------
    client.force_login(logins["district"])
    context = client.get("/").context
    assert context["meetings_this_month"] > 0 and context["meetings_last_month"] > 100
    assert context["due_full"] >= 2 and context["transfers_in_progress"] >= 3
    assert context["overdue_transfers"] == 1
    assert 0 < context["no_meeting_total"] < 20
    assert context["growth"]["candidates_open"] > 0
    client.force_login(logins["caominh"])
    context = client.get("/").context
    assert context["meetings_this_month"] > 0 and context["overdue_transfers"] == 1
    assert probations_due_counts(SYSTEM_SCOPE, today)["due"] >= 1
    # The district's tiles (on PostgreSQL, tallies kept by triggers through the bulk writes).
    totals = member_totals(scope_for(logins["admin"]))
    assert (totals["total"], totals["full"]) == (
        Member.objects.current().count(),
        Member.objects.full().count(),
    )
    assert badge_members(SYSTEM_SCOPE, today.year).exists()
    office = Branch.objects.get(code="01885-CQ")
    html = client.get(office.get_absolute_url()).content.decode()
    assert office.dissolution_decision in html
    client.force_login(logins["district"])
    report = client.get(reverse("transfers:policy_report"))
    assert report.context["communes"] and all(
        row.office_dissolved for row in report.context["communes"]
    )
    assert office.dissolved_on.strftime("%d/%m/%Y") in report.content.decode()

    # --- The story keeps the registry's rules ----------------------------------------------
    for member in Member.objects.all():
        # What a form checks (the database's constraints held on every insert).
        member.clean_fields(exclude=["branch", "residence_village"])
        member.clean()
    for branch in Branch.objects.active():
        assert Member.objects.filter(branch=branch, full_on__isnull=False).current().count() >= 3, (
            branch
        )
    left = Member.objects.filter(status=MemberStatus.LEFT)
    assert {"died", "transferred_out", "removed"} <= set(left.values_list("left_reason", flat=True))
    assert not Membership.objects.filter(member__in=left, ended_on__isnull=True).exists()
    assert not Membership.objects.filter(
        ended_on__gt=F("member__left_on"), kind="official"
    ).exists()
    years = range(2019, today.year)
    for year in years:
        assert Member.objects.filter(admitted_on__year=year).exists(), year
        assert Evaluation.objects.filter(year=year, member__isnull=True).exists(), year
        assert Transfer.objects.filter(requested_on__year=year).count() >= 10, year
    assert not Evaluation.objects.filter(member__status=MemberStatus.EXEMPT).exists()
    assert Transfer.objects.filter(scope="into_district", status="received").exists()
    assert Transfer.objects.filter(kind="temporary", status="received").exists()
    # Letters are numbered 1, 2, 3, ... in each commune's series of the year.
    series = defaultdict(list)
    for commune, year, number in Transfer.objects.exclude(letter_number=None).values_list(
        "letter_commune", "letter_year", "letter_number"
    ):
        series[(commune, year)].append(number)
    assert all(sorted(numbers) == list(range(1, len(numbers) + 1)) for numbers in series.values())
    assert overdue_transfers(SYSTEM_SCOPE).count() == 1
    assert Transfer.objects.in_progress().filter(status=TransferStatus.REQUESTED).exists()
    # Candidates: the ceremony made the member; introducers were full members of the branch.
    assert (
        Candidate.objects.open().count() >= 3
        and Candidate.objects.filter(withdrawn_on__isnull=False).exists()
    )
    for candidate in Candidate.objects.filter(ceremony_on__isnull=False).select_related("member"):
        assert candidate.member.admitted_on == candidate.decision_on
        assert (
            candidate.member.memberships.order_by("started_on").first().started_on
            == candidate.ceremony_on
        )
    for candidate in Candidate.objects.exclude(introducers_on=None).prefetch_related(
        "introducers__member"
    ):
        for introducer in candidate.introducers.all():
            assert introducer.member.full_on <= candidate.introducers_on
            assert (
                Membership.objects.roster(candidate.branch, candidate.introducers_on)
                .filter(member=introducer.member)
                .exists()
            )

    # Meetings: one regular a month per branch while it exists, the roll is the roster.
    assert not Meeting.objects.filter(branch__dissolved_on__lte=F("date")).exists()
    assert not Meeting.objects.filter(Q(date__gt=today) & ~Q(status=MeetingStatus.PLANNED)).exists()
    assert (
        not Meeting.objects.filter(status=MeetingStatus.ADOPTED)
        .exclude(adopted_on=F("date"))
        .exists()
    )
    tet = Meeting.objects.filter(kind=MeetingKind.REGULAR, date__year=2024, date__month=2).count()
    march = Meeting.objects.filter(kind=MeetingKind.REGULAR, date__year=2024, date__month=3).count()
    assert tet < march <= 133
    assert Meeting.objects.filter(kind=MeetingKind.THEMATIC).count() > 1000
    sample = list(Meeting.objects.filter(branch=khau_slom).exclude(status=MeetingStatus.PLANNED))
    sample += list(Meeting.objects.exclude(status=MeetingStatus.PLANNED).order_by("?")[:60])
    for meeting in sample:
        expected = {a.member_id: a for a in roll_lines(meeting)}
        recorded = {
            a.member_id: a
            for a in Attendance.objects.filter(meeting=meeting).select_related("member")
        }
        assert set(recorded) == set(expected), meeting
        for member_id, line in recorded.items():
            assert (line.is_full, line.temporary) == (
                expected[member_id].is_full,
                expected[member_id].temporary,
            )
            if line.member.status != MemberStatus.LEFT:
                assert line.standing == expected[member_id].standing, meeting
        counted = {pk for pk, line in recorded.items() if line.standing == Standing.COUNTED}
        assert {
            meeting.chair_id,
            meeting.secretary_id,
        } <= counted and meeting.chair_id != meeting.secretary_id
        assert all(line.presence for pk, line in recorded.items() if pk in counted)
    for task in Task.objects.filter(meeting__in=sample).prefetch_related("assignees"):
        roster = set(
            Membership.objects.roster(task.meeting.branch, task.meeting.date).values_list(
                "member_id", flat=True
            )
        )
        assert {m.pk for m in task.assignees.all()} <= roster
    assert not Task.objects.annotate(n=Count("reviews")).filter(~Q(status="open"), n=0).exists()
