"""The demo's story, page by page, from March 2019 to today.

    DemoBuilder(today).build()  ==  snapshot() -> dissolve_offices() -> tell(until the eve of
        1 July 2025) -> reorganize() -> tell(until today) -> hold_meetings() -> give_roles()

Each page is a method, so a test can read the registry between two of them (the
rosters of 2019 just before and just after the reorganisation). The rules that
matter go through the services the registry's users go through: the April 2019
dissolutions through members.services.dissolutions.branch_dissolve, the 2025
reorganisation through branches.services.reorganizations, read from the same
plan file as `reorganize_units`. The rest is written in bulk (see story.py and
meetings.py), so `make run` stays quick.
"""

from __future__ import annotations

import datetime
import random
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

import branches
from branches.models import (
    Branch,
    BranchInCommune,
    Commune,
    District,
    Province,
    Role,
    RoleKind,
    Village,
    VillageInCommune,
)
from branches.services.reorganizations import (
    lines_from_rows,
    reorganization_apply,
    reorganization_plan,
)
from members.models import Member, Membership, MembershipKind
from members.selectors.dissolutions import branch_dissolution_plan
from members.services.dissolutions import branch_dissolve
from pacnam.io.spreadsheets import read_spreadsheet

from .district import SEED, SNAPSHOT, members_2019, plan_demo
from .meetings import Meetings
from .story import Story

D = datetime.date
DAY = datetime.timedelta(days=1)
DEMO_PASSWORD = "demo"
DISSOLVED_FROM = D(2019, 4, 1)  # each commune's office branch, one a day from 1 April 2019
STORY_FROM = D(2019, 4, 15)
REORGANIZED_ON = D(2025, 7, 1)
REORGANIZATION_DECISION = "1683/NQ-UBTVQH15"
REORGANIZATION_PLAN = (
    Path(branches.__file__).resolve().parent / "data" / "reorganization-2025-pac-nam.csv"
)

DEMO_USERS = [
    # username, role, its unit's code, first day of the role (open-ended), title
    ("admin", None, None, None, ""),
    ("district", RoleKind.DISTRICT_OFFICER, "060", None, "Ban Tổ chức Huyện ủy"),
    (
        "thainguyen",
        RoleKind.PROVINCE_OFFICER,
        "19",
        REORGANIZED_ON,
        "Ban Tổ chức Tỉnh ủy Thái Nguyên",
    ),
    ("caotan", RoleKind.COMMUNE_SECRETARY, "01885", None, "Phó Bí thư Đảng ủy xã Cao Tân"),
    ("giaohieu", RoleKind.COMMUNE_SECRETARY, "01870", None, "Bí thư Đảng ủy xã Giáo Hiệu"),
    ("caominh", RoleKind.COMMUNE_SECRETARY, "01879", REORGANIZED_ON, "Bí thư Đảng ủy xã Cao Minh"),
    ("khauslom", RoleKind.BRANCH_SECRETARY, "01870-T01", None, "Bí thư Chi bộ thôn Khâu Slôm"),
]

# The people behind the logins, as a report upward signs them ("T/M ĐẢNG ỦY / BÍ THƯ",
# then the name): the whole name in first_name, since get_full_name() would put a
# Vietnamese family name last.
DEMO_NAMES = {
    "district": "Hoàng Văn Thắng",
    "thainguyen": "Nguyễn Thị Thu Hà",
    "caotan": "Lý Văn Sơn",
    "giaohieu": "Triệu Thị Mai",
    "caominh": "Hà Văn Minh",
    "khauslom": "Nông Văn Páo",
}


def reorganization_lines():
    """The 2025 plan, read as `reorganize_units` reads it."""
    table = read_spreadsheet(REORGANIZATION_PLAN.read_bytes(), REORGANIZATION_PLAN.name)
    lines, errors = lines_from_rows(
        list(table.header), [(row.number, list(row.cells)) for row in table.rows]
    )
    if errors:
        raise ValueError(f"{REORGANIZATION_PLAN.name}: {errors[0]}")
    return lines


UNIT_OF_ROLE = {
    RoleKind.PROVINCE_OFFICER: ("province", Province),
    RoleKind.DISTRICT_OFFICER: ("district", District),
    RoleKind.COMMUNE_SECRETARY: ("commune", Commune),
    RoleKind.BRANCH_SECRETARY: ("branch", Branch),
}


class DemoBuilder:
    def __init__(self, today: datetime.date | None = None):
        self.today = today or timezone.localdate()
        self.rng = random.Random(SEED + 2)
        self.created: dict[str, int] = {}
        self.lines = reorganization_lines()

    def build(self) -> dict[str, int]:
        self.snapshot()
        self.dissolve_offices()
        self.tell(REORGANIZED_ON - DAY)
        self.reorganize()
        self.tell(self.today)
        self.hold_meetings()
        self.give_roles()
        return self.created

    # --- March 2019 ---------------------------------------------------------------

    def snapshot(self) -> None:
        """Pác Nặm on 1 March 2019: its communes, villages, branches and members."""
        data = plan_demo()
        district = pac_nam()
        for commune in data.communes:
            commune.place_in = (district.province, district)
            commune.save()
        # In bulk, with the first period in its commune that Village.save and
        # Branch.save would open: a few hundred saves, each with its audit entry,
        # were most of the demo's first seconds.
        bulk_create_with_history(data.villages, Village, batch_size=500)
        bulk_create_with_history(
            [
                VillageInCommune(village=v, commune=v.commune, valid_from=v.valid_from)
                for v in data.villages
            ],
            VillageInCommune,
            batch_size=500,
        )
        bulk_create_with_history(data.branches, Branch, batch_size=500)
        bulk_create_with_history(
            [
                BranchInCommune(branch=b, commune=b.commune, valid_from=b.founded_on)
                for b in data.branches
            ],
            BranchInCommune,
            batch_size=500,
        )
        villages = {v.code: v for v in data.villages}
        branches_by_code = {b.code: b for b in data.branches}
        members, memberships = members_2019(data, villages, branches_by_code)
        bulk_create_with_history(members, Member, batch_size=500)
        bulk_create_with_history(memberships, Membership, batch_size=500)
        self.exempt = {m.citizen_id for m, p in zip(members, data.people, strict=True) if p.exempt}
        self.created.update(
            communes=len(data.communes), villages=len(data.villages), branches=len(data.branches)
        )
        self.users = self.demo_users()

    def demo_users(self) -> dict:
        """The demo logins (those missing): the story records who did what with them."""
        User = get_user_model()
        # One hash for all: the password is "demo" for every login anyway, and each
        # hash takes most of a second by design.
        password = make_password(DEMO_PASSWORD)
        users, created = {}, 0
        for username, kind, _code, _since, _title in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create(
                    username=username,
                    password=password,
                    first_name=DEMO_NAMES.get(username, ""),
                    is_staff=kind is None,
                    is_superuser=kind is None,
                )
                user.demo_new = True
                created += 1
            users[username] = user
        self.created["users"] = created
        return users

    # --- April 2019: the commune-office branches dissolved --------------------------

    def dissolve_offices(self) -> None:
        """Every commune's office branch, dissolved through the service: its cadres go
        to the branch of the village where they live; Cổ Linh's three who live where
        there is none are placed by a decision."""
        offices = (
            Branch.objects.filter(kind="commune_office")
            .select_related("commune")
            .order_by("commune__code")
        )
        for index, office in enumerate(offices):
            on = DISSOLVED_FROM + DAY * index
            assignments = {}
            for row in branch_dissolution_plan(branch=office, on=on):
                if row.needs_decision:
                    village = row.member.residence_village.code
                    number = int(village[-2:]) - 1 if village.startswith(office.commune.code) else 1
                    assignments[row.member.citizen_id] = Branch.objects.get(
                        code=f"{office.commune.code}-T{number:02d}"
                    )
            branch_dissolve(
                branch=office,
                decision=f"{41 + index * 3}-QĐ/ĐU",
                on=on,
                by=None,
                assignments=assignments,
            )

    # --- The years ------------------------------------------------------------------

    def tell(self, until: datetime.date) -> None:
        """The story's events up to `until`, then written."""
        if not hasattr(self, "story"):
            self.story = self.start_story()
        self.story.run_until(until)
        for name, n in self.story.flush().items():
            self.created[name] = self.created.get(name, 0) + n

    def start_story(self) -> Story:
        story = Story(
            rng=self.rng,
            today=self.today,
            reorganized_on=REORGANIZED_ON,
            new_code={line.old_code: line.new_code for line in self.lines},
            branches=list(Branch.objects.select_related("village", "commune")),
            villages=list(Village.objects.select_related("commune")),
            communes=list(Commune.objects.all()),
            users=self.users,
        )
        story.load(
            list(Member.objects.all()),
            list(Membership.objects.filter(kind=MembershipKind.OFFICIAL, ended_on__isnull=True)),
            self.exempt,
        )
        story.schedule(STORY_FROM)
        return story

    def reorganize(self) -> None:
        """1 July 2025: the ten communes become three, in Thái Nguyên, through the
        same service as `reorganize_units`."""
        plan = reorganization_plan(lines=self.lines, on=REORGANIZED_ON)
        if plan.errors:
            raise ValueError(str(plan.errors[0]))
        reorganization_apply(plan=plan, decision=REORGANIZATION_DECISION, by=None, via_command=True)
        self.story.after_reorganization(list(Commune.objects.filter(valid_from=REORGANIZED_ON)))

    # --- Meetings and roles ----------------------------------------------------------

    def hold_meetings(self) -> None:
        lives = self.story.lives
        memberships = list(
            Membership.objects.values_list(
                "member_id", "branch_id", "kind", "started_on", "ended_on"
            )
        )
        members = {
            pk: (full_on, position)
            for pk, full_on, position in Member.objects.values_list("pk", "full_on", "position")
        }
        exempt = {lives[cid].member.pk for cid in self.exempt}
        away = {lives[cid].member.pk: spans for cid, spans in self.story.away_outside.items()}
        khau_slom = Branch.objects.get(code="01870-T01")
        meetings = Meetings(
            rng=self.rng,
            today=self.today,
            branches=list(Branch.objects.select_related("village")),
            memberships=memberships,
            members=members,
            exempt=exempt,
            away=away,
            creators={khau_slom.pk: self.users["khauslom"]},
        )
        self.created.update(meetings.build())

    def give_roles(self) -> None:
        """The roles of the logins created now: the district officer's and the old
        communes' secretaries' stay open (they keep their units' history); the
        province officer and Cao Minh's secretary from 1 July 2025."""
        for username, kind, code, since, title in DEMO_USERS:
            user = self.users[username]
            if kind is None or not getattr(user, "demo_new", False):
                continue
            on = since or SNAPSHOT
            field, model = UNIT_OF_ROLE[kind]
            unit = {field: model.objects.by_code(code, on)}
            Role.objects.create(user=user, kind=kind, title=title, valid_from=since, **unit)


def pac_nam() -> District:
    """Bắc Kạn (06) and Pác Nặm (060) as they were in 2019 (the migrations make them;
    a database emptied by a test run may not have them)."""
    district = District.objects.filter(code="060").first()
    if district is None:
        province = Province.objects.filter(code="06").first() or Province.objects.create(
            code="06", name="Bắc Kạn"
        )
        district = District.objects.create(code="060", name="Pác Nặm", province=province)
    return district


def demo_loaded() -> bool:
    """Whether the registry holds the demo's story (the 2025 reorganisation of its communes)."""
    return (
        Commune.objects.filter(code="01885", name="Cao Tân").exists()
        and Member.objects.filter(full_name="Lý Thị Huyền").exists()
    )
