"""The synthetic registry's generator: the proportions of a province, the
district's names, and the history of every commune, branch and member.
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from branches.models import (
    Branch,
    BranchInCommune,
    BranchKind,
    Commune,
    CommuneInProvince,
    Village,
    VillageInCommune,
)
from meetings.models import (
    Attendance,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Presence,
    ReviewOutcome,
    Standing,
    Task,
    TaskReview,
    TaskStatus,
)
from members.models import (
    DissolutionBatch,
    DissolutionMove,
    EndReason,
    Member,
    Membership,
    MembershipKind,
    MemberStatus,
    Transfer,
    TransferKind,
    TransferScope,
    TransferStatus,
)
from pacnam.lib.text import fold

from . import words, writers
from .plan import (
    CADRES_PER_COMMUNE,
    DISSOLUTION_DAY,
    FIRST_ADMISSION,
    FOUNDED,
    IN_PROGRESS_SHARE,
    LEFT_REASONS,
    MEMBERS_PER_COMMUNE,
    OFFICE_DISSOLVED_SHARE,
    REFERENCE_DAY,
    SYSTEM_USER,
    TRANSFER_RECORDS_FROM,
    VILLAGES_PER_COMMUNE,
    Plan,
)


class Generator:
    def __init__(
        self,
        plan: Plan,
        writer: writers.Writer,
        reference_day: datetime.date,
        meeting_months: int = 2,
        user_id: int | None = None,
    ):
        self.plan = plan
        self.writer = writer
        self.rng = random.Random(plan.seed)
        self.today = reference_day
        self.today_ord = reference_day.toordinal()
        self._iso: dict[int, str] = {}
        self._folded: dict[str, str] = {}
        self.next_id = dict(plan.first_ids)
        self.branch_ids: list[list[int]] = []  # per commune: [village branches..., office, school]
        self.office_dissolved: list[bool] = []
        self.village_ids: list[list[int]] = []
        self.members_left = plan.members
        self.meeting_months = meeting_months
        self.commune_of: dict[int, int] = {}
        self.commune_index: dict[int, int] = {}
        self.batch_of: dict[int, int] = {}
        self.letter_numbers: dict[tuple[int, int], int] = {}
        self.user_id = user_id
        first = reference_day.replace(day=1)
        for _ in range(max(meeting_months - 1, 0)):
            first = (first - datetime.timedelta(days=1)).replace(day=1)
        self.window_start = first.toordinal()
        self.rosters: dict[int, list[tuple]] = {}
        self.closed_tasks: list[tuple[int, int]] = []
        self.pending_tasks: dict[int, dict] = {}

    def take(self, key) -> int:
        value = self.next_id[key]
        self.next_id[key] = value + 1
        return value

    def place_name(self) -> str:
        return f"{self.rng.choice(words.PLACE)} {self.rng.choice(words.PLACE)}"

    # Places first: a few tens of thousands of rows at most.
    def places(self) -> None:
        rng = self.rng
        for ci in range(self.plan.communes):
            code = f"{self.plan.first_commune_code + ci:05d}"
            commune_id = self.take(Commune)
            self.writer.add(
                Commune, {"id": commune_id, "code": code, "name": f"Xã {self.place_name()}"}
            )
            self.writer.add(
                CommuneInProvince,
                {
                    "id": self.take(CommuneInProvince),
                    "commune_id": commune_id,
                    "province_id": self.plan.province_id,
                    "district_id": None,
                },
            )
            villages, branches = [], []
            for vi in range(VILLAGES_PER_COMMUNE):
                village_id = self.take(Village)
                households = rng.randint(40, 160)
                name = f"{rng.choice(['Thôn', 'Bản'])} {self.place_name()}"
                self.writer.add(
                    Village,
                    {
                        "id": village_id,
                        "commune_id": commune_id,
                        "code": f"S{code}{vi:02d}",
                        "name": name,
                        "households": households,
                        "population": households * rng.randint(4, 6),
                        "version": 1,
                    },
                )
                self.writer.add(
                    VillageInCommune,
                    {
                        "id": self.take(VillageInCommune),
                        "village_id": village_id,
                        "commune_id": commune_id,
                    },
                )
                villages.append(village_id)
                branch_id = self.take(Branch)
                self.writer.add(
                    Branch,
                    {
                        "id": branch_id,
                        "code": f"S{code}{vi:02d}",
                        "name": f"Chi bộ {name.lower()}",
                        "kind": BranchKind.VILLAGE,
                        "commune_id": commune_id,
                        "village_id": village_id,
                        "founded_on": FOUNDED,
                        "dissolved_on": None,
                        "dissolution_decision": "",
                        "version": 1,
                    },
                )
                branches.append(branch_id)
            # Nine communes in ten have dissolved their office branch (and the first always).
            dissolved = ci % 10 < OFFICE_DISSOLVED_SHARE * 10
            decision = f"{rng.randint(100, 999)}-QĐ/HU" if dissolved else ""
            office_id = self.take(Branch)
            self.writer.add(
                Branch,
                {
                    "id": office_id,
                    "code": f"S{code}CQ",
                    "name": f"Chi bộ cơ quan xã {code}",
                    "kind": BranchKind.COMMUNE_OFFICE,
                    "commune_id": commune_id,
                    "village_id": None,
                    "founded_on": FOUNDED,
                    "dissolved_on": DISSOLUTION_DAY if dissolved else None,
                    "dissolution_decision": decision,
                    "version": 1,
                },
            )
            school_id = self.take(Branch)
            self.writer.add(
                Branch,
                {
                    "id": school_id,
                    "code": f"S{code}TH",
                    "name": f"Chi bộ trường học xã {code}",
                    "kind": BranchKind.SCHOOL,
                    "commune_id": commune_id,
                    "village_id": None,
                    "founded_on": FOUNDED,
                    "dissolved_on": None,
                    "dissolution_decision": "",
                    "version": 1,
                },
            )
            for b in (*branches, office_id, school_id):
                self.commune_of[b] = commune_id
                self.writer.add(
                    BranchInCommune,
                    {
                        "id": self.take(BranchInCommune),
                        "branch_id": b,
                        "commune_id": commune_id,
                        "valid_from": FOUNDED,
                    },
                )
            self.commune_index[commune_id] = ci
            if dissolved:
                batch_id = self.batch_of[office_id] = self.take(DissolutionBatch)
                self.writer.add(
                    DissolutionBatch,
                    {
                        "id": batch_id,
                        "branch_id": office_id,
                        "decision": decision,
                        "dissolved_on": DISSOLUTION_DAY,
                        "performed_by_id": None,
                        "performed_at": datetime.datetime(2019, 4, 1, 8, tzinfo=datetime.UTC),
                        "via_command": True,
                        "undone_at": None,
                        "undone_by_id": None,
                    },
                )
            self.branch_ids.append([*branches, office_id, school_id])
            self.office_dissolved.append(dissolved)
            self.village_ids.append(villages)
        self.writer.flush()

    def members(self, progress: Callable[[int], None] | None = None) -> None:
        done = 0
        for ci in range(self.plan.communes):
            n = min(MEMBERS_PER_COMMUNE, self.members_left)
            if ci == self.plan.communes - 1:
                n = self.members_left
            self.rosters: dict[int, list[tuple]] = {}
            for i in range(n):
                self.member(ci, cadre=i < CADRES_PER_COMMUNE)
            self.meetings(ci)
            self.members_left -= n
            done += n
            if progress and (ci % 100 == 99):
                progress(done)
        self.writer.flush()

    def member(self, ci: int, *, cadre: bool) -> None:
        rng = self.rng
        gender = "female" if rng.random() < 0.42 else "male"
        full_name = f"{rng.choice(words.FAMILY)} {rng.choice(words.MIDDLE[gender])} {rng.choice(words.GIVEN[gender])}"
        folded = self._folded.get(full_name)
        if folded is None:
            folded = self._folded[full_name] = fold(full_name)
        ethnicity = rng.choices([e for e, _ in words.ETHNICITY], [w for _, w in words.ETHNICITY])[0]
        first, last = FIRST_ADMISSION.toordinal(), self.today_ord - 20
        if cadre:  # the office's cadres were admitted before the dissolution
            last = min(last, DISSOLUTION_DAY.toordinal() - 400)
        admitted = rng.randint(first, last)
        birth = admitted - rng.randint(18 * 366, 40 * 365)
        full_on = admitted + 365 + rng.randint(0, 45)
        if full_on > self.today_ord:
            full_on = None
        villages = self.village_ids[ci]
        branches = self.branch_ids[ci]
        home_index = rng.randrange(len(villages))
        residence = villages[home_index]
        age = (self.today_ord - birth) // 365
        status, left_on, left_reason = MemberStatus.ACTIVE, None, ""
        roll = rng.random()
        if roll < 0.03 and self.today_ord - admitted > 60:
            status = MemberStatus.LEFT
            left_reason = rng.choices([r for r, _ in LEFT_REASONS], [w for _, w in LEFT_REASONS])[0]
        elif age >= 70 and roll < 0.25:
            status = MemberStatus.EXEMPT

        # The official path: a list of (branch, start) and the day the last one ends.
        path: list[tuple[int, int, str]] = []  # (branch, started, end reason of this one)
        office = branches[VILLAGES_PER_COMMUNE]
        if cadre:
            to_office = rng.randint(admitted, DISSOLUTION_DAY.toordinal() - 30)
            if to_office - admitted > 200:
                path.append((branches[home_index], admitted, EndReason.TRANSFERRED))
            else:
                to_office = admitted
            if self.office_dissolved[ci]:
                path.append((office, to_office, EndReason.BRANCH_DISSOLVED))
                path.append((branches[home_index], DISSOLUTION_DAY.toordinal(), ""))
            else:
                path.append((office, to_office, ""))
        else:
            moves = rng.choices([0, 1, 2, 3], [30, 40, 20, 10])[0]
            span = self.today_ord - admitted - 30
            days = (
                sorted(set(admitted + rng.randint(1, span) for _ in range(moves)))
                if span > 30
                else []
            )
            final = branches[home_index] if rng.random() < 0.92 else branches[-1]
            before = []
            for move_day in days:
                # Came from another commune of the province (before the meetings'
                # months, whose rolls are made commune by commune).
                if rng.random() < 0.15 and move_day < self.window_start:
                    other = rng.randrange(len(self.branch_ids))
                    before.append(self.branch_ids[other][rng.randrange(VILLAGES_PER_COMMUNE)])
                else:
                    before.append(branches[rng.randrange(VILLAGES_PER_COMMUNE)])
            chain = [*before, final]
            # Consecutive memberships in the same branch would be no move at all.
            starts = [admitted, *days]
            for k, branch in enumerate(chain):
                if path and path[-1][0] == branch:
                    continue
                path.append((branch, starts[k], EndReason.TRANSFERRED))
            path[-1] = (path[-1][0], path[-1][1], "")
        if status == MemberStatus.LEFT:
            left_on = rng.randint(path[-1][1], self.today_ord)
            path[-1] = (path[-1][0], path[-1][1], left_reason)

        member_id = self.take(Member)
        card = ""
        if full_on is not None:
            card = f"{self.take('card'):010d}"
        self.writer.add(
            Member,
            {
                "id": member_id,
                "citizen_id": f"{self.take('citizen_id'):012d}",
                "full_name": full_name,
                "folded_name": folded,
                "gender": gender,
                "birth_date": self.date(birth),
                "ethnicity": ethnicity,
                "residence_village_id": residence,
                "position": rng.choice(words.POSITIONS) if cadre else "",
                "is_commune_cadre": cadre,
                "admitted_on": self.date(admitted),
                "full_on": self.date(full_on),
                "card_number": card,
                "status": status,
                "left_on": self.date(left_on),
                "left_reason": left_reason,
                "under_inspection": False,
                "branch_id": path[-1][0],
                "version": 1,
                "created_at": writers.CREATED_AT,
                "updated_at": writers.CREATED_AT,
            },
        )
        membership_ids = [self.take(Membership) for _ in path]
        for k, (branch, started, reason) in enumerate(path):
            if k + 1 < len(path):
                ended = path[k + 1][1]
            elif status == MemberStatus.LEFT:
                ended = left_on
            else:
                ended = None
            # Who is on which branch's roll, period by period, for the meetings.
            self.rosters.setdefault(branch, []).append((member_id, started, ended, status, full_on))
            self.writer.add(
                Membership,
                {
                    "id": membership_ids[k],
                    "member_id": member_id,
                    "branch_id": branch,
                    "kind": MembershipKind.OFFICIAL,
                    "started_on": self.date(started),
                    "ended_on": self.date(ended),
                    "end_reason": reason if ended is not None else "",
                },
            )
            if ended is None or k + 1 == len(path):
                continue
            if reason == EndReason.BRANCH_DISSOLVED:
                self.writer.add(
                    DissolutionMove,
                    {
                        "id": self.take(DissolutionMove),
                        "batch_id": self.batch_of[branch],
                        "member_id": member_id,
                        "from_membership_id": membership_ids[k],
                        "to_branch_id": path[k + 1][0],
                        "new_membership_id": membership_ids[k + 1],
                        "decided_by_person": False,
                    },
                )
            elif ended >= TRANSFER_RECORDS_FROM:
                self.transfer(member_id, branch, path[k + 1][0], ended)
        if status != MemberStatus.LEFT and rng.random() < IN_PROGRESS_SHARE:
            self.transfer_in_progress(member_id, path[-1][0], path[-1][1])
        # A few members were temporarily attached elsewhere for a while (study, work).
        if rng.random() < 0.02 and self.today_ord - path[-1][1] > 400:
            start = rng.randint(path[-1][1], self.today_ord - 200)
            host = branches[rng.randrange(VILLAGES_PER_COMMUNE)]
            if host == path[-1][0]:
                host = branches[-1]
            self.writer.add(
                Membership,
                {
                    "id": self.take(Membership),
                    "member_id": member_id,
                    "branch_id": host,
                    "kind": MembershipKind.TEMPORARY,
                    "started_on": self.date(start),
                    "ended_on": self.date(start + rng.randint(90, 180)),
                    "end_reason": EndReason.TEMPORARY_ENDED,
                },
            )

    def _letter(self, from_branch: int, day: int) -> dict:
        """The next introduction letter number of the sending commune in that year."""
        commune = self.commune_of[from_branch]
        date = datetime.date.fromordinal(day)
        key = (commune, date.year)
        number = self.letter_numbers[key] = self.letter_numbers.get(key, 0) + 1
        issued = datetime.datetime.combine(date, datetime.time(9), tzinfo=datetime.UTC)
        return {
            "letter_commune_id": commune,
            "letter_year": date.year,
            "letter_number": number,
            "letter_date": date,
            "letter_signer_title": "Phó Bí thư Đảng ủy xã",
            "letter_issued_by_id": self.user_id,
            "letter_issued_at": issued,
        }

    def transfer(self, member_id: int, from_branch: int, to_branch: int, received: int) -> None:
        """The record of an official transfer received on `received` (a move in the history)."""
        rng = self.rng
        letter_day = received - rng.randint(1, 25)
        requested = letter_day - rng.randint(0, 20)
        same = self.commune_of[from_branch] == self.commune_of[to_branch]
        self.writer.add(
            Transfer,
            {
                "id": self.take(Transfer),
                "member_id": member_id,
                "incoming": {},
                "kind": TransferKind.OFFICIAL,
                "scope": TransferScope.WITHIN_COMMUNE if same else TransferScope.BETWEEN_COMMUNES,
                "status": TransferStatus.RECEIVED,
                "from_branch_id": from_branch,
                "to_branch_id": to_branch,
                "reason": rng.choice(["Thay đổi nơi cư trú", "Chuyển công tác"]),
                "requested_by_id": self.user_id,
                "requested_at": datetime.datetime.combine(
                    datetime.date.fromordinal(requested), datetime.time(8), tzinfo=datetime.UTC
                ),
                "requested_on": datetime.date.fromordinal(requested),
                "received_on": datetime.date.fromordinal(received),
                "received_by_id": self.user_id,
                "received_at": datetime.datetime.combine(
                    datetime.date.fromordinal(received), datetime.time(10), tzinfo=datetime.UTC
                ),
                **self._letter(from_branch, letter_day),
            },
        )

    def transfer_in_progress(self, member_id: int, from_branch: int, since: int) -> None:
        """A transfer asked for in the last months: requested, or its letter issued (some
        of them longer ago than the deadline: overdue on the dashboard)."""
        rng = self.rng
        ci = self.commune_index[self.commune_of[from_branch]]
        to_branch = self.branch_ids[ci][rng.randrange(VILLAGES_PER_COMMUNE)]
        requested = max(since, self.today_ord - rng.randint(5, 120))
        if to_branch == from_branch or requested + 2 > self.today_ord:
            return
        row = {
            "id": self.take(Transfer),
            "member_id": member_id,
            "incoming": {},
            "kind": TransferKind.OFFICIAL,
            "scope": TransferScope.WITHIN_COMMUNE,
            "status": TransferStatus.REQUESTED,
            "from_branch_id": from_branch,
            "to_branch_id": to_branch,
            "reason": "Thay đổi nơi cư trú",
            "requested_by_id": self.user_id,
            "requested_at": datetime.datetime.combine(
                datetime.date.fromordinal(requested), datetime.time(8), tzinfo=datetime.UTC
            ),
            "requested_on": datetime.date.fromordinal(requested),
        }
        if rng.random() < 0.6:
            row.update(
                status=TransferStatus.LETTER_ISSUED, **self._letter(from_branch, requested + 1)
            )
        self.writer.add(Transfer, row)

    def meetings(self, ci: int) -> None:
        """The regular monthly meetings of the commune's active branches in the last
        `meeting_months` months: the roll from the roster on the day (present,
        excused, absent; exempt members apart), two tasks set at each, reviewed and
        closed at the next meeting; the last month's tasks still open."""
        if not self.meeting_months:
            return
        rng = self.rng
        reference = datetime.date.fromordinal(self.today_ord)
        months = []
        year, month = reference.year, reference.month
        for _ in range(self.meeting_months):
            months.append((year, month))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        months.reverse()
        for branch in self.branch_ids[ci]:
            roster_all = self.rosters.get(branch, [])
            if branch == self.branch_ids[ci][VILLAGES_PER_COMMUNE] and self.office_dissolved[ci]:
                continue
            open_tasks: list[int] = []
            for year, month in months:
                day = datetime.date(year, month, rng.randint(5, 25))
                if day > reference:
                    day = reference
                ordinal = day.toordinal()
                roster = [
                    r for r in roster_all if r[1] <= ordinal and (r[2] is None or r[2] > ordinal)
                ]
                meeting_id = self.take(Meeting)
                counted = [r for r in roster if r[3] != MemberStatus.EXEMPT]
                chair = counted[0][0] if len(counted) >= 2 else None
                secretary = counted[1][0] if len(counted) >= 2 else None
                self.writer.add(
                    Meeting,
                    {
                        "id": meeting_id,
                        "branch_id": branch,
                        "date": day,
                        "kind": MeetingKind.REGULAR,
                        "place": "Nhà văn hóa thôn",
                        "topic": "",
                        "chair_id": chair,
                        "secretary_id": secretary,
                        "agenda": words.MEETING_AGENDA,
                        "minutes": f"Chi bộ họp thường kỳ tháng {month:02d}/{year}.",
                        "resolution": "Nghị quyết được thông qua.",
                        "status": MeetingStatus.ADOPTED,
                        "adopted_on": day,
                        "roll_opened": True,
                        "created_by_id": None,
                        "created_at": writers.CREATED_AT,
                        "updated_at": writers.CREATED_AT,
                    },
                )
                for member_id, _started, _left, status, full_on in roster:
                    standing = (
                        Standing.EXEMPT if status == MemberStatus.EXEMPT else Standing.COUNTED
                    )
                    presence, reason = "", ""
                    if standing == Standing.COUNTED:
                        roll = rng.random()
                        if roll < 0.84:
                            presence = Presence.PRESENT
                        elif roll < 0.95:
                            presence, reason = Presence.EXCUSED, rng.choice(words.ABSENCE_REASONS)
                        else:
                            presence = Presence.ABSENT
                    self.writer.add(
                        Attendance,
                        {
                            "id": self.take(Attendance),
                            "meeting_id": meeting_id,
                            "member_id": member_id,
                            "standing": standing,
                            "is_full": full_on is not None and full_on <= ordinal,
                            "temporary": False,
                            "presence": presence,
                            "reason": reason,
                        },
                    )
                for task_id in open_tasks:  # last month's tasks, reviewed and done
                    self.writer.add(
                        TaskReview,
                        {
                            "id": self.take(TaskReview),
                            "meeting_id": meeting_id,
                            "task_id": task_id,
                            "outcome": ReviewOutcome.DONE,
                            "reason": "",
                        },
                    )
                    self.closed_tasks.append((task_id, meeting_id))
                open_tasks = []
                for _ in range(2 if counted else 0):
                    task_id = self.take(Task)
                    poor = rng.random() < 0.5
                    self.pending_tasks[task_id] = {
                        "id": task_id,
                        "meeting_id": meeting_id,
                        "description": "Giúp đỡ hộ nghèo" if poor else rng.choice(words.TASKS),
                        "due_on": day + datetime.timedelta(days=30),
                        "household_head": f"{rng.choice(words.FAMILY)} Văn {rng.choice(words.GIVEN['male'])}"
                        if poor
                        else "",
                        "household_village_id": self.village_ids[ci][0] if poor else None,
                        "status": TaskStatus.OPEN,
                        "closed_at_id": None,
                        "drop_reason": "",
                    }
                    for member_id in {rng.choice(counted)[0] for _ in range(2)}:
                        self.writer.add(
                            Task.assignees.through,
                            {
                                "id": self.take(Task.assignees.through),
                                "task_id": task_id,
                                "member_id": member_id,
                            },
                        )
                    open_tasks.append(task_id)
        # A task row is written once its fate is known (closed at the next meeting or open).
        for task_id, meeting_id in self.closed_tasks:
            row = self.pending_tasks.pop(task_id)
            row.update(status=TaskStatus.DONE, closed_at_id=meeting_id)
            self.writer.add(Task, row)
        for row in self.pending_tasks.values():
            self.writer.add(Task, row)
        self.closed_tasks, self.pending_tasks = [], {}

    def date(self, ordinal: int | None):
        if ordinal is None:
            return None
        value = self._iso.get(ordinal)
        if value is None:
            value = self._iso[ordinal] = datetime.date.fromordinal(ordinal)
        return value


def is_empty() -> bool:
    return not (Commune.objects.exists() or Member.objects.exists())


def generate(
    *,
    members: int,
    seed: int = 1,
    reference_day: datetime.date | None = None,
    meeting_months: int = 2,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Write a synthetic registry of `members` members (after what is there) and
    return what was written: {model name: rows} and the seconds it took."""
    say = progress or (lambda text: None)
    started = time.monotonic()
    reference_day = reference_day or min(REFERENCE_DAY, datetime.date.today())
    postgres = connection.vendor == "postgresql"
    writer: writers.Writer = (
        writers.CopyWriter() if postgres else writers.BulkCreateWriter(chunk=5000)
    )
    with transaction.atomic():
        plan = Plan.make(members, seed)
        # Transfers name who recorded each step: a user standing for the import.
        user, _created = get_user_model().objects.get_or_create(
            username=SYSTEM_USER, defaults={"is_active": False, "password": "!"}
        )
        generator = Generator(plan, writer, reference_day, meeting_months, user.pk)
        restore: list[str] = []
        if postgres:
            with connection.cursor() as cursor:
                # Only this transaction: its loss in a crash is a rerun, not corruption.
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
                # Checks still deferred from earlier writes of this transaction (a
                # caller's atomic block) would forbid altering the tables: run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for model in writers.BIG_TABLES:
                    restore += writers._drop_for_load(cursor, model._meta.db_table)
                tallies = writers._has_table(cursor, writers.TALLY_TABLE)
                if tallies:
                    # Counted once at the end rather than row by row (see members 0005).
                    for trigger in writers.TALLY_TRIGGERS:
                        cursor.execute(f"ALTER TABLE members_member DISABLE TRIGGER {trigger}")
                # Rows point at rows of later chunks: check foreign keys at commit.
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        generator.places()
        say(f"{plan.communes} communes, their villages and branches")
        generator.members(lambda n: say(f"{n} members ({time.monotonic() - started:.0f} s)"))
        if postgres:
            say(f"rebuilding {len(restore)} indexes and constraints")
            with connection.cursor() as cursor:
                # Every row is written: check the pending foreign keys now, as
                # adding constraints to tables with pending checks is refused.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for statement in restore:
                    cursor.execute(statement)
                if tallies:
                    for trigger in writers.TALLY_TRIGGERS:
                        cursor.execute(f"ALTER TABLE members_member ENABLE TRIGGER {trigger}")
                    cursor.execute(writers.RECOUNT_TALLIES_SQL)
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        writers._reset_sequences(writers.MODELS)
    if postgres:
        # Statistics for the planner, and (VACUUM) the visibility map that lets
        # counts be answered from an index alone, as autovacuum would do later.
        # VACUUM cannot run inside a transaction (a caller's atomic block).
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            tables = [connection.ops.quote_name(m._meta.db_table) for m in writers.MODELS]
            if writers._has_table(cursor, writers.TALLY_TABLE):
                tables += [writers.TALLY_TABLE, "members_member_name", "members_admission_tally"]
            for table in tables:
                cursor.execute(f"{command} {table}")
    counts = {model.__name__: n for model, n in writer.counts.items()}
    counts["seconds"] = round(time.monotonic() - started, 1)
    return counts
