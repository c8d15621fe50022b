"""The demo's years, from the April 2019 moves to today: the people of the registry.

Events happen in date order (a queue), each on the registry as it stands that
day: candidates go through the admission steps to the ceremony, probations end
in recognition, members die, move, are transferred in and out, branches and
members are rated at the end of each year. Nothing is written while the story
runs; `flush()` writes what happened since the last flush in bulk inserts and
updates, so the years before the 2025 reorganisation are in the database when
it is applied, and those after it are written after it.

Written directly, not through the services, for speed (a few thousand rows in
a few seconds), so the story keeps the services' rules itself: a member in one
branch at a time; history closed and opened, never rewritten; steps in order
and never in the future; introducers who are full members of the branch for a
year; one transfer in progress per member; letters numbered per commune and
year; at least three full members left in every branch; ratings of the active
members on the roster at the end of the year. tests/test_seed_demo.py checks them.
"""

from __future__ import annotations

import datetime
import heapq
import random
from collections import defaultdict

from simple_history.utils import bulk_create_with_history

from branches.models import Branch, BranchKind, Commune, Village
from members.models import (
    Candidate,
    CandidateIntroducer,
    CandidateStep,
    CandidateStepRecord,
    EndReason,
    Evaluation,
    FullMembershipRecognition,
    LeftReason,
    Member,
    Membership,
    MembershipKind,
    MemberStatus,
    Rating,
    Transfer,
    probation_ends_on,
)
from pacnam.lib.dates import add_months, add_years
from pacnam.lib.text import fold

from .district import ETHNIC_WEIGHTS, RESERVED_NAMES, VILLAGE_POSITIONS, citizen_id, person_name
from .transfers import TRANSFER_FIELDS, TransfersMixin

D = datetime.date
DAY = datetime.timedelta(days=1)
# Khâu Slôm's and Cốc Lải's rosters stay as the district's report of 19/09/2019
# tells them (10 members, 7 + 3; Lý Thị Huyền and one more cadre) until then.
REPORT_DAY = D(2019, 9, 30)
STORY_BRANCHES = ("01870-T01", "01885-T01")
ANNUAL_DEATH_RATE = [(50, 0.002), (65, 0.008), (75, 0.025), (200, 0.07)]
MEMBER_RATINGS = [
    (Rating.EXCELLENT, 13),
    (Rating.GOOD, 72),
    (Rating.SATISFACTORY, 13),
    (Rating.NOT_SATISFACTORY, 2),
]
BRANCH_RATINGS = [
    (Rating.EXCELLENT, 16),
    (Rating.GOOD, 64),
    (Rating.SATISFACTORY, 18),
    (Rating.NOT_SATISFACTORY, 2),
]
WITHDRAWAL_REASONS = [
    "Đi làm ăn xa, không tiếp tục phấn đấu",
    "Chưa đủ điều kiện về lịch sử chính trị của gia đình",
    "Xin thôi vì hoàn cảnh gia đình khó khăn",
]
# Step date fields after the certificate, and the days each one takes after the one before.
STEP_GAPS = [
    ("application_on", (20, 60)),
    ("history_on", (10, 30)),
    ("introducers_on", (10, 30)),
    ("verification_on", (20, 50)),
    ("branch_resolution_on", (7, 30)),
    ("commune_resolution_on", (7, 25)),
    ("decision_on", (15, 45)),
    ("ceremony_on", (5, 30)),
]
STEP_OF = {
    field: step
    for step, field in [
        (CandidateStep.AWARENESS, "awareness_certificate_on"),
        (CandidateStep.APPLICATION, "application_on"),
        (CandidateStep.HISTORY, "history_on"),
        (CandidateStep.INTRODUCERS, "introducers_on"),
        (CandidateStep.VERIFICATION, "verification_on"),
        (CandidateStep.BRANCH_RESOLUTION, "branch_resolution_on"),
        (CandidateStep.COMMUNE_RESOLUTION, "commune_resolution_on"),
        (CandidateStep.DECISION, "decision_on"),
        (CandidateStep.CEREMONY, "ceremony_on"),
    ]
}
UPDATE_FIELDS = {
    Member: [
        "branch",
        "residence_village",
        "status",
        "left_on",
        "left_reason",
        "full_on",
        "card_number",
        "version",
    ],
    Membership: ["ended_on", "end_reason"],
    Candidate: [
        *STEP_OF,
        "branch_resolution_number",
        "commune_resolution_number",
        "decision_number",
        "member",
        "withdrawn_on",
        "withdrawal_reason",
    ],
}
CREATE_ORDER = [
    Member,
    Membership,
    Candidate,
    CandidateIntroducer,
    CandidateStepRecord,
    FullMembershipRecognition,
    Transfer,
    Evaluation,
]


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


class Life:
    """A member in the story: the record, its open official membership, and what
    keeps it out of other events for now."""

    __slots__ = ("member", "official", "exempt", "busy_until", "pinned")

    def __init__(
        self, member: Member, official: Membership, exempt: bool = False, pinned: bool = False
    ):
        self.member = member
        self.official = official
        self.exempt = exempt
        self.busy_until = D.min
        self.pinned = pinned

    @property
    def branch(self) -> Branch:
        return self.official.branch

    def is_full_on(self, day: datetime.date) -> bool:
        return self.member.full_on is not None and self.member.full_on <= day


class Story(TransfersMixin):
    def __init__(
        self,
        *,
        rng: random.Random,
        today: datetime.date,
        reorganized_on: datetime.date,
        new_code: dict[str, str],
        branches: list[Branch],
        villages: list[Village],
        communes: list[Commune],
        users: dict,
    ):
        self.rng = rng
        self.today = today
        self.reorganized_on = reorganized_on
        self.new_code = new_code
        self.users = users
        self.branches = sorted(branches, key=lambda b: b.code)
        # The commune of each branch and village before the reorganisation, by code.
        self.old_code = {b.pk: b.commune.code for b in self.branches}
        self.villages_of: dict[str, list[Village]] = defaultdict(list)
        for village in sorted(villages, key=lambda v: v.code):
            self.villages_of[village.commune.code].append(village)
        self.commune_rows = {(c.code, "old"): c for c in communes}
        self.queue: list = []
        self.seq = 0
        self.lives: dict[str, Life] = {}
        self.rosters: dict[int, dict[str, Life]] = defaultdict(dict)
        self.new: dict = defaultdict(list)
        self.dirty: dict = defaultdict(dict)
        self.serial = 0
        self.numbers: dict = defaultdict(int)
        self.away_outside: dict[str, list[tuple[datetime.date, datetime.date, str]]] = defaultdict(
            list
        )
        self.init_transfers()

    # --- The queue ---------------------------------------------------------------

    def at(self, day: datetime.date, action, *args, order: int = 1) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (day, order, self.seq, action, args))

    def run_until(self, last_day: datetime.date) -> None:
        """Every event dated on or before `last_day` (and never after today)."""
        last_day = min(last_day, self.today)
        while self.queue and self.queue[0][0] <= last_day:
            day, _order, _seq, action, args = heapq.heappop(self.queue)
            action(day, *args)

    def after_reorganization(self, communes: list[Commune]) -> None:
        for commune in communes:
            self.commune_rows[(commune.code, "new")] = commune

    # --- What the story knows of the registry on a day ----------------------------

    def commune_key(self, branch: Branch, day: datetime.date) -> tuple[str, str]:
        """(code, era) of the branch's commune on `day`: the old communes until the
        reorganisation, the merged ones from it."""
        old = self.old_code[branch.pk]
        return (old, "old") if day < self.reorganized_on else (self.new_code[old], "new")

    def commune_on(self, branch: Branch, day: datetime.date) -> Commune:
        return self.commune_rows[self.commune_key(branch, day)]

    def officer(self, day: datetime.date):
        """Who does the district committee's work: the district until the
        reorganisation, the province after it."""
        return self.users["district"] if day < self.reorganized_on else self.users["thainguyen"]

    def secretary(self, key: tuple[str, str], day: datetime.date):
        """The commune secretary who records the commune's work (a demo login where
        there is one, the officer otherwise)."""
        logins = {
            ("01885", "old"): "caotan",
            ("01870", "old"): "giaohieu",
            ("01879", "new"): "caominh",
        }
        return self.users.get(logins.get(key, ""), None) or self.officer(day)

    def number(self, series, day: datetime.date) -> int:
        """The next number of a series (a commune's letters, decisions, resolutions) in the year."""
        self.numbers[(series, day.year)] += 1
        return self.numbers[(series, day.year)]

    def branches_on(self, day: datetime.date, *, kinds=(BranchKind.VILLAGE,)) -> list[Branch]:
        return [
            b
            for b in self.branches
            if b.kind in kinds
            and b.is_active_on(day)
            and not (day <= REPORT_DAY and b.code in STORY_BRANCHES)
        ]

    def full_left(self, branch: Branch, day: datetime.date, without: Life | None = None) -> int:
        return sum(
            1
            for life in self.rosters[branch.pk].values()
            if life is not without and not life.exempt and life.is_full_on(day)
        )

    def free_lives(self, day: datetime.date) -> list[Life]:
        """The members who may take part in an event that takes them out of their
        branch on `day`: active, not in another event, not in the report's branches
        before it was written, and whose branch keeps at least 3 full members (plus
        the chair and secretary's margin)."""
        result = []
        for roster in self.rosters.values():
            full = None
            for life in roster.values():
                if (
                    life.pinned
                    or life.busy_until >= day
                    or life.member.status != MemberStatus.ACTIVE
                    or (day <= REPORT_DAY and life.branch.code in STORY_BRANCHES)
                ):
                    continue
                if life.is_full_on(day):
                    full = self.full_left(life.branch, day) if full is None else full
                    if full - 1 < 4:
                        continue
                result.append(life)
        return result

    # --- Writing -------------------------------------------------------------------

    def add(self, obj) -> None:
        self.new[type(obj)].append(obj)

    def touch(self, obj) -> None:
        if obj.pk is not None:
            self.dirty[type(obj)][id(obj)] = obj

    def flush(self) -> dict[str, int]:
        """Write what happened since the last flush: new rows in bulk, changed rows
        with bulk updates (history rows for new members and memberships)."""
        created = {}
        for model in CREATE_ORDER:
            if model is Membership:
                # Memberships closed first: the one open official membership per
                # member is a unique index, and a move opens the next one.
                self.update(Membership)
            objs = self.new.pop(model, [])
            if model in (Member, Membership):
                bulk_create_with_history(objs, model, batch_size=500)
            elif objs:
                model.objects.bulk_create(objs, batch_size=500)
            created[model._meta.model_name] = len(objs)
        for model in list(self.dirty):
            self.update(model)
        return created

    def update(self, model) -> None:
        objs = self.dirty.pop(model, {})
        if objs:
            model.objects.bulk_update(
                list(objs.values()), UPDATE_FIELDS.get(model) or TRANSFER_FIELDS, batch_size=500
            )

    # --- The people at the start ------------------------------------------------------

    def load(self, members: list[Member], memberships: list[Membership], exempt: set[str]) -> None:
        """The members and open official memberships as the April 2019 moves left them."""
        by_member = {m.member_id: m for m in memberships}
        branches = {b.pk: b for b in self.branches}
        for member in sorted(members, key=lambda m: m.citizen_id):
            official = by_member[member.pk]
            official.branch = branches[official.branch_id]
            life = Life(
                member,
                official,
                exempt=member.citizen_id in exempt,
                pinned=member.full_name in RESERVED_NAMES,
            )
            self.lives[member.citizen_id] = life
            self.rosters[official.branch_id][member.citizen_id] = life
            if member.full_on is None:
                # Probationary in March 2019, with no ceremony on record: probation
                # counts from the admission decision.
                vote = probation_ends_on(member.admitted_on) + DAY * self.rng.randint(3, 30)
                self.at(vote + DAY * self.rng.randint(3, 20), self.recognize, life, vote)

    def schedule(self, start: datetime.date) -> None:
        """Every year's events from `start` to today, and what is planted so that
        today's dashboard has something to show."""
        rng = self.rng
        month = start.replace(day=1)
        while month <= self.today:
            self.at(month.replace(day=rng.randint(1, 28)), self.mortality)
            if month.month == 1 and month.year > start.year:
                self.at(month, self.rate_year, order=0)
            month = add_months(month, 1)
        for year in range(start.year, self.today.year + 1):
            first = start if year == start.year else D(year, 1, 1)
            days = (D(year, 12, 31) - first).days
            for _ in range(rng.randint(40, 55)):
                self.at(first + DAY * rng.randint(0, days), self.candidate_start)
            for _ in range(rng.randint(20, 28)):
                self.at(first + DAY * rng.randint(30, days), self.transfer_start)
        for day in (D(2021, 8, 17), D(2023, 11, 9)):
            self.at(day, self.remove_one)
        self.plant()

    def plant(self) -> None:
        """Today's figures: probations due this month and overdue, candidates at
        their first steps, transfers in progress (one overdue)."""
        today, rng = self.today, self.rng
        year_ago = add_months(today, -12)
        # Probation ends today (due), on the 1st (due on the 1st, overdue after it),
        # and one and two months ago with the recognition late (overdue).
        for ceremony, late in (
            (year_ago, False),
            (year_ago.replace(day=1), False),
            (add_months(year_ago, -1).replace(day=12), True),
            (add_months(year_ago, -2).replace(day=20), True),
        ):
            self.plant_candidate(ceremony, late)
        for days_ago in (12, 40, 75, 130):
            self.at(today - DAY * days_ago, self.candidate_start)
        self.plant_transfers(today, rng)

    # --- Admission ----------------------------------------------------------------

    def new_person(
        self, day: datetime.date, village: Village, *, province: str = "006", age=(19, 33)
    ) -> dict:
        rng = self.rng
        ethnicity = weighted(rng, ETHNIC_WEIGHTS)
        gender = rng.choice(["male", "female", "male", "female", "male"])
        name = person_name(rng, ethnicity, gender)
        while name in RESERVED_NAMES:
            name = person_name(rng, ethnicity, gender)
        birth = add_years(day, -rng.randint(*age)) - DAY * rng.randint(0, 360)
        self.serial += 1
        return {
            "full_name": name,
            "gender": gender,
            "ethnicity": ethnicity,
            "birth_date": birth,
            "citizen_id": province + citizen_id(100000 + self.serial, birth, gender)[3:],
            "residence_village": village,
        }

    def candidate_start(
        self, day: datetime.date, dates: list | None = None, late: bool = False
    ) -> None:
        """A young person of a village (or a school's or health station's staff)
        starts towards admission with the Party-awareness class certificate."""
        rng = self.rng
        kinds = (BranchKind.VILLAGE,) * 5 + (BranchKind.SCHOOL, BranchKind.HEALTH)
        branches = [b for b in self.branches_on(day, kinds=kinds) if self.full_left(b, day) >= 4]
        branch = rng.choice(branches)
        # A school's or health station's staff live somewhere in the commune.
        village = (
            branch.village
            if branch.village_id
            else rng.choice(self.villages_of[self.old_code[branch.pk]])
        )
        person = self.new_person(day, village)
        candidate = Candidate(branch=branch, awareness_certificate_on=day, **person)
        candidate.folded_name = fold(candidate.full_name)
        self.add(candidate)
        self.record(candidate, CandidateStep.REGISTERED, day)
        self.record(candidate, CandidateStep.AWARENESS, day)
        withdraw_at = None
        if dates is None:
            dates, step_day = [], day
            for _field, (low, high) in STEP_GAPS:
                step_day += DAY * rng.randint(low, high)
                dates.append(step_day)
            withdraw_at = rng.randrange(len(STEP_GAPS) - 1) if rng.random() < 0.05 else None
        for index, ((field, _gap), step_day) in enumerate(zip(STEP_GAPS, dates, strict=True)):
            if index == withdraw_at:
                self.at(step_day, self.candidate_withdraw, candidate)
                break
            self.at(step_day, self.candidate_step, candidate, field, late)

    def plant_candidate(self, ceremony: datetime.date, late: bool) -> None:
        """A candidate whose ceremony falls on `ceremony`: their probation ends this
        month (or ended, and the recognition is late)."""
        dates, day = [ceremony], ceremony
        for _field, (low, high) in reversed(STEP_GAPS):
            day -= DAY * self.rng.randint(low, high)
            dates.append(day)
        dates.reverse()
        self.at(dates[0], self.candidate_start, dates[1:], late)

    def record(self, candidate: Candidate, step: str, day: datetime.date) -> None:
        self.add(
            CandidateStepRecord(
                candidate=candidate,
                step=step,
                recorded_by=self.secretary(self.commune_key(candidate.branch, day), day),
            )
        )

    def candidate_withdraw(self, day: datetime.date, candidate: Candidate) -> None:
        candidate.withdrawn_on = day
        candidate.withdrawal_reason = self.rng.choice(WITHDRAWAL_REASONS)
        self.touch(candidate)

    def candidate_step(
        self, day: datetime.date, candidate: Candidate, field: str, late: bool
    ) -> None:
        if candidate.withdrawn_on is not None:
            return
        branch = candidate.branch
        if not branch.is_active_on(day):
            return self.candidate_withdraw(day, candidate)
        key = self.commune_key(branch, day)
        if field == "introducers_on":
            since_before = add_years(day, -1)
            able = [
                life
                for life in self.rosters[branch.pk].values()
                if life.member.status == MemberStatus.ACTIVE
                and life.is_full_on(day)
                and life.official.started_on <= since_before
            ]
            if len(able) < 2:
                return self.candidate_withdraw(day, candidate)
            for life in self.rng.sample(able, 2):
                since = max(
                    life.official.started_on, add_years(since_before, -self.rng.randint(0, 4))
                )
                self.add(
                    CandidateIntroducer(
                        candidate=candidate, member=life.member, worked_together_since=since
                    )
                )
        elif field == "branch_resolution_on":
            candidate.branch_resolution_number = f"{self.number(('CB', branch.pk), day)}-NQ/CB"
        elif field == "commune_resolution_on":
            candidate.commune_resolution_number = f"{self.number(key, day)}-NQ/ĐU"
        elif field == "decision_on":
            issuer = "HU" if key[1] == "old" else "ĐU"
            candidate.decision_number = f"{self.number(('QĐ', key), day)}-QĐ/{issuer}"
        setattr(candidate, field, day)
        self.touch(candidate)
        self.record(candidate, STEP_OF[field], day)
        if field == "ceremony_on":
            self.admit(day, candidate, late)

    def admit(self, day: datetime.date, candidate: Candidate, late: bool) -> None:
        """The ceremony: the candidate becomes a probationary member of the branch."""
        branch = candidate.branch
        member = Member(
            citizen_id=candidate.citizen_id,
            full_name=candidate.full_name,
            folded_name=candidate.folded_name,
            gender=candidate.gender,
            birth_date=candidate.birth_date,
            ethnicity=candidate.ethnicity,
            residence_village=candidate.residence_village,
            admitted_on=candidate.decision_on,
            position=self.rng.choice(
                VILLAGE_POSITIONS[2:] if branch.village_id else ["Giáo viên", "Y sĩ", "Nhân viên"]
            ),
            status=MemberStatus.ACTIVE,
            branch=branch,
        )
        candidate.member = member
        life = self.join(member, branch, day)
        vote = probation_ends_on(day) + DAY * self.rng.randint(0, 25)
        delay = 60 + self.rng.randint(0, 60) if late or self.rng.random() < 0.08 else 0
        self.at(vote + DAY * (self.rng.randint(3, 20) + delay), self.recognize, life, vote)

    def join(self, member: Member, branch: Branch, day: datetime.date) -> Life:
        official = Membership(
            member=member, branch=branch, kind=MembershipKind.OFFICIAL, started_on=day
        )
        self.add(member)
        self.add(official)
        life = Life(member, official)
        self.lives[member.citizen_id] = life
        self.rosters[branch.pk][member.citizen_id] = life
        return life

    def recognize(self, day: datetime.date, life: Life, voted_on: datetime.date) -> None:
        """Recognition as a full member: the branch's vote, then the decision."""
        member = life.member
        if member.status == MemberStatus.LEFT or member.full_on is not None:
            return
        key = self.commune_key(life.branch, day)
        issuer = "HU" if key[1] == "old" else "ĐU"
        self.add(
            FullMembershipRecognition(
                member=member,
                branch_voted_on=voted_on,
                decision_on=day,
                decision_number=f"{self.number(('QĐ', key), day)}-QĐ/{issuer}",
                recorded_by=self.secretary(key, day),
            )
        )
        self.serial += 1
        member.full_on = day
        member.card_number = f"{61_000_000 + self.serial:08d}"
        member.version += 1
        self.touch(member)

    # --- Leaving ---------------------------------------------------------------------

    def leave(self, day: datetime.date, life: Life, reason: str) -> None:
        """member_leave's rule: every open membership ends, the member is kept."""
        member = life.member
        life.official.ended_on = max(day, life.official.started_on)
        life.official.end_reason = reason if reason in EndReason.values else EndReason.OTHER
        self.touch(life.official)
        member.status, member.left_on, member.left_reason = MemberStatus.LEFT, day, reason
        member.version += 1
        self.touch(member)
        del self.rosters[life.branch.pk][member.citizen_id]

    def mortality(self, day: datetime.date) -> None:
        for life in [life for roster in self.rosters.values() for life in roster.values()]:
            age = day.year - life.member.birth_date.year
            rate = next(rate for limit, rate in ANNUAL_DEATH_RATE if age < limit)
            if self.rng.random() >= rate / 12:
                continue
            if life.pinned or life.busy_until >= day or life.member.status == MemberStatus.LEFT:
                continue
            if (
                day <= REPORT_DAY and life.branch.code in STORY_BRANCHES
            ) or life.official.started_on > day:
                continue
            if (
                life.is_full_on(day)
                and not life.exempt
                and self.full_left(life.branch, day, life) < 4
            ):
                continue
            self.leave(day, life, LeftReason.DIED)

    def remove_one(self, day: datetime.date) -> None:
        """Removed from the Party (xóa tên): months without attending or paying dues."""
        self.leave(day, self.rng.choice(self.free_lives(day)), LeftReason.REMOVED)

    # --- Ratings ----------------------------------------------------------------------

    def rate_year(self, day: datetime.date) -> None:
        """The year's ratings, recorded at its end: every branch active on 31
        December and the active members on its official roster that day (exempt
        and suspended members are not rated)."""
        year, last = day.year - 1, day - DAY
        for branch in self.branches:
            if not branch.is_active_on(last):
                continue
            by = self.secretary(self.commune_key(branch, last), last)
            roster = [
                life
                for life in self.rosters[branch.pk].values()
                if not life.exempt
                and life.member.status == MemberStatus.ACTIVE
                and life.official.started_on <= last
            ]
            for life in roster:
                self.add(
                    Evaluation(
                        year=year,
                        branch=branch,
                        member=life.member,
                        recorded_by=by,
                        rating=weighted(self.rng, MEMBER_RATINGS),
                    )
                )
            self.add(
                Evaluation(
                    year=year,
                    branch=branch,
                    member=None,
                    recorded_by=by,
                    rating=weighted(self.rng, BRANCH_RATINGS),
                )
            )
