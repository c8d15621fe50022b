"""The demo's branch meetings, January 2019 to this month: the regular monthly
meeting of every branch on its day (a few missed, more in the month of Tết), a
thematic meeting about every quarter, the roll of each, tasks set and reviewed
at the next regular meeting, minutes adopted on the meeting's date.

Written last, from the memberships the story left in the database, and in bulk
(about 15,000 meetings and 200,000 lines of attendance), keeping the rules of
meetings/services/: one regular meeting per branch and month, only while the
branch exists; the roll is the roster of the day (official and temporary),
members temporarily attached elsewhere are "away", exempt members listed apart;
chair and secretary are two full members on the roll; tasks go to members on
the roll and are reviewed at a later regular meeting. The meetings later this
month are planned, with no roll yet.
"""

from __future__ import annotations

import calendar
import datetime
import random
from collections import defaultdict

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import translation

from branches.models import Branch, BranchKind
from meetings.dues_selectors import RateBook
from meetings.models import (
    Attendance,
    DuesPayment,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Presence,
    ReviewOutcome,
    Standing,
    Task,
    TaskReview,
    TaskStatus,
    default_agenda,
)
from members.models import MembershipKind
from pacnam.lib.bulk import copy_insert, copy_insert_values
from pacnam.lib.dates import add_months

from .district import ETHNIC_WEIGHTS, person_name

D = datetime.date
DAY = datetime.timedelta(days=1)
FIRST_MONTH = D(2019, 1, 1)
# The day of the month each branch meets on ("sinh hoạt vào ngày 5 hằng tháng").
MEETING_DAYS = [1, 2, 3, 5, 5, 5, 7, 10, 10, 15, 20, 25]
TET = {
    2019: D(2019, 2, 5),
    2020: D(2020, 1, 25),
    2021: D(2021, 2, 12),
    2022: D(2022, 2, 1),
    2023: D(2023, 1, 22),
    2024: D(2024, 2, 10),
    2025: D(2025, 1, 29),
    2026: D(2026, 2, 17),
    2027: D(2027, 2, 6),
    2028: D(2028, 1, 26),
    2029: D(2029, 2, 13),
    2030: D(2030, 2, 3),
}
EXCUSES = ["Ốm", "Đi làm ăn xa", "Việc gia đình", "Đi công tác", "Đưa con đi khám bệnh"]
TOPICS = [
    "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
    "Xây dựng nông thôn mới: tiêu chí môi trường và đường giao thông nông thôn",
    "Giảm nghèo bền vững: giúp đỡ hộ nghèo trong thôn",
    "Phát triển đảng viên: bồi dưỡng quần chúng ưu tú",
    "Nâng cao chất lượng sinh hoạt chi bộ",
    "Quốc phòng, an ninh và phòng chống tội phạm ở cơ sở",
]
VILLAGE_TASKS = [
    ("household", 30),
    ("road", 20),
    ("dues", 20),
    ("environment", 15),
    ("growth", 15),
]
OTHER_TASKS = [("dues", 50), ("work", 50)]
TASK_TEXT = {
    "household": "Giúp đỡ hộ nghèo về giống cây trồng, vật nuôi và ngày công",
    "road": "Vận động nhân dân góp ngày công bê tông hóa đường giao thông nông thôn",
    "dues": "Thu, nộp đảng phí tháng {month} đầy đủ, đúng hạn",
    "environment": "Tuyên truyền vệ sinh môi trường, làm nhà tiêu hợp vệ sinh",
    "growth": "Bồi dưỡng, giúp đỡ quần chúng ưu tú phấn đấu vào Đảng",
    "work": "Hoàn thành nhiệm vụ chuyên môn của đơn vị trong tháng {month}",
}
DROP_REASONS = {"household": "Hộ gia đình đã chuyển đi nơi khác"}
PLACES = {
    BranchKind.COMMUNE_OFFICE: "Hội trường Đảng ủy xã",
    BranchKind.SCHOOL: "Phòng họp nhà trường",
    BranchKind.HEALTH: "Trạm Y tế xã",
    BranchKind.POLICE: "Trụ sở Công an xã",
    BranchKind.MILITIA: "Ban Chỉ huy Quân sự xã",
}
# Values the SQLite driver takes as they are (dates through Django's adapter).
PLAIN = {str, int, bool, type(None), datetime.date}
ATTENDANCE_COLUMNS = [
    "meeting_id",
    "member_id",
    "standing",
    "is_full",
    "temporary",
    "presence",
    "reason",
]


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def insert_rows(model, columns: list[str], rows: list[tuple]) -> None:
    """Rows of plain values straight into the table: COPY on PostgreSQL, one
    executemany elsewhere (no model instance for 200,000 lines of attendance)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        copy_insert_values(model, [dict(zip(columns, row, strict=True)) for row in rows])
        return
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(c) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def insert_objects(model, objs: list) -> None:
    """bulk_create's rows in a fraction of its time (its per-value preparation was
    most of the demo's): COPY on PostgreSQL, ids after the table's highest and one
    executemany elsewhere. The objects have their ids afterwards."""
    if not objs:
        return
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    if connection.vendor == "postgresql":
        copy_insert(model, objs)
        return
    first = (model.objects.aggregate(highest=Max("pk"))["highest"] or 0) + 1
    fields = model._meta.concrete_fields
    rows = []
    for pk, obj in enumerate(objs, start=first):
        obj.pk = pk
        row = []
        for field in fields:
            value = field.pre_save(obj, add=True)
            if type(value) not in PLAIN:
                value = field.get_db_prep_save(value, connection)
            row.append(value)
        rows.append(row)
    insert_rows(model, [field.column for field in fields], rows)


class Meetings:
    def __init__(
        self,
        *,
        rng: random.Random,
        today: datetime.date,
        branches: list[Branch],
        memberships: list[tuple],
        members: dict[int, tuple],
        exempt: set[int],
        away: dict[int, list],
        creators: dict[int, object],
    ):
        """`memberships`: (member_id, branch_id, kind, started_on, ended_on);
        `members`: id -> (full_on, position); `away`: id -> [(from, to, reason)]
        away outside the district; `creators`: branch id -> the user who records."""
        self.rng, self.today = rng, today
        self.branches = sorted(branches, key=lambda b: b.code)
        self.members, self.exempt, self.away, self.creators = members, exempt, away, creators
        self.rosters: dict[int, list[tuple]] = defaultdict(list)
        self.attached: dict[int, list[tuple]] = defaultdict(list)
        for member_id, branch_id, kind, started, ended in memberships:
            self.rosters[branch_id].append((member_id, kind, started, ended))
            if kind == MembershipKind.TEMPORARY:
                self.attached[member_id].append((branch_id, started, ended))
        with translation.override("vi"):
            self.agenda = default_agenda()
        self.meetings: list[Meeting] = []
        self.attendance: list[tuple] = []
        self.tasks: list[Task] = []
        self.assignees: list[tuple] = []
        self.reviews: list[TaskReview] = []
        # Dues collected at the regular meetings: (member, month) -> row, one a month.
        self.dues: dict[tuple, list] = {}
        self.rates = RateBook.load()
        # Its own random stream, so that adding dues left every other figure of the
        # demo as it was.
        self.dues_rng = random.Random(2019)
        # One member who leaves three months of this year unpaid without a reason
        # (the three-month review); chosen at the first roll of the year.
        self.defaulter: int | None = None

    def build(self) -> dict[str, int]:
        for branch in self.branches:
            self.branch_meetings(branch, self.rng.choice(MEETING_DAYS))
        insert_objects(Meeting, self.meetings)
        insert_rows(
            Attendance,
            ATTENDANCE_COLUMNS,
            [(meeting.pk, *line) for meeting, *line in self.attendance],
        )
        insert_objects(Task, self.tasks)
        insert_rows(
            Task.assignees.through,
            ["task_id", "member_id"],
            [(task.pk, member_id) for task, member_id in self.assignees],
        )
        insert_objects(TaskReview, self.reviews)
        insert_rows(
            DuesPayment,
            ["member_id", "branch_id", "month", "due", "paid", "paid_on", "reason", "meeting_id"],
            [(*row[:-1], row[-1].pk) for row in self.dues.values()],
        )
        return {
            "meetings": len(self.meetings),
            "attendance": len(self.attendance),
            "tasks": len(self.tasks),
        }

    def branch_meetings(self, branch: Branch, day: int) -> None:
        rng, today = self.rng, self.today
        open_tasks: list[tuple[Task, str]] = []
        month = FIRST_MONTH
        while month <= today:
            last = calendar.monthrange(month.year, month.month)[1]
            date = month.replace(day=min(day, last))
            tet = TET.get(month.year)
            in_tet_month = tet is not None and (tet.year, tet.month) == (month.year, month.month)
            if in_tet_month and abs((date - tet).days) <= 4:
                date = tet + DAY * 6 if (tet + DAY * 6).month == month.month else tet - DAY * 6
            this_month = (month.year, month.month) == (today.year, today.month)
            skipped = rng.random() < (0.2 if in_tet_month else 0.03)
            month = add_months(month, 1)
            if not branch.is_active_on(date) or (skipped and not this_month):
                continue
            if date > today:
                self.planned(branch, date)
                continue
            meeting, present = self.held(branch, date, MeetingKind.REGULAR)
            if meeting is None:
                continue
            open_tasks = self.review(meeting, open_tasks)
            if branch.kind != BranchKind.COMMUNE_OFFICE:
                open_tasks += self.set_tasks(branch, meeting, present)
            if date.month % 3 == 0 and rng.random() < 0.85:
                thematic = min(date + DAY * rng.randint(7, 14), date.replace(day=last))
                if thematic <= today and thematic > date and branch.is_active_on(thematic):
                    self.held(branch, thematic, MeetingKind.THEMATIC, topic=rng.choice(TOPICS))

    def roll(self, branch: Branch, date: datetime.date) -> list[list]:
        """[member_id, standing, is_full, temporary] of the roster on `date`, as
        meetings.services.attendance.roll_lines takes it."""
        lines: dict[int, list] = {}
        for member_id, kind, started, ended in self.rosters[branch.pk]:
            if started > date or (ended is not None and ended <= date):
                continue
            temporary = kind == MembershipKind.TEMPORARY
            if member_id in self.exempt:
                standing = Standing.EXEMPT
            elif not temporary and any(
                b != branch.pk and s <= date < e for b, s, e in self.attached[member_id]
            ):
                standing = Standing.AWAY
            else:
                standing = Standing.COUNTED
            full_on = self.members[member_id][0]
            if member_id not in lines or standing == Standing.COUNTED:
                lines[member_id] = [
                    member_id,
                    standing,
                    full_on is not None and full_on <= date,
                    temporary,
                ]
        return [lines[k] for k in sorted(lines)]

    def held(self, branch: Branch, date: datetime.date, kind: str, topic: str = ""):
        rng = self.rng
        roll = self.roll(branch, date)
        counted = [line for line in roll if line[1] == Standing.COUNTED]
        full = [line[0] for line in counted if line[2]]
        if len(full) < 2:
            return None, []
        full.sort(key=lambda pk: (self.members[pk][1] != "Bí thư chi bộ", pk))
        chair, secretary = full[0], full[1]
        meeting = Meeting(
            branch=branch,
            date=date,
            kind=kind,
            topic=topic,
            place=self.place(branch),
            starts_at=datetime.time(19, 30)
            if branch.kind == BranchKind.VILLAGE
            else datetime.time(14, 0),
            chair_id=chair,
            secretary_id=secretary,
            agenda=self.agenda,
            status=MeetingStatus.ADOPTED,
            adopted_on=date,
            roll_opened=True,
            created_by=self.creators.get(branch.pk),
        )
        tally = defaultdict(int)
        present = []
        for member_id, standing, is_full, temporary in roll:
            presence, reason = "", ""
            if standing == Standing.COUNTED:
                away = [r for s, e, r in self.away.get(member_id, ()) if s <= date < e]
                draw = rng.random()
                if member_id in (chair, secretary):
                    presence = Presence.PRESENT
                elif away:
                    presence, reason = Presence.EXCUSED, away[0]
                elif draw < 0.87:
                    presence = Presence.PRESENT
                elif draw < 0.96:
                    presence, reason = Presence.EXCUSED, rng.choice(EXCUSES)
                else:
                    presence = Presence.ABSENT
                tally[presence] += 1
                if presence == Presence.PRESENT:
                    present.append(member_id)
            self.attendance.append(
                (meeting, member_id, standing, is_full, temporary, presence, reason)
            )
        what = f"họp chuyên đề: {topic}" if topic else f"họp thường kỳ tháng {date:%m/%Y}"
        meeting.minutes = (
            f"Chi bộ {what}. Có mặt {tally[Presence.PRESENT]}/{len(counted)} đảng viên phải triệu tập; "
            f"vắng có lý do {tally[Presence.EXCUSED]}, vắng không lý do {tally[Presence.ABSENT]}. "
            + (
                "Chi bộ nghe báo cáo chuyên đề, thảo luận và liên hệ với nhiệm vụ của thôn, đơn vị."
                if topic
                else "Chi bộ đánh giá kết quả thực hiện nhiệm vụ tháng trước, thu đảng phí, thảo luận và thống nhất "
                "nhiệm vụ tháng tới, phân công đảng viên phụ trách."
            )
        )
        if kind == MeetingKind.REGULAR:
            self.collect_dues(meeting, roll)
        meeting.resolution = "Chi bộ thống nhất thông qua nghị quyết và biên bản cuộc họp với 100% đảng viên có mặt tán thành."
        self.meetings.append(meeting)
        return meeting, present

    def collect_dues(self, meeting: Meeting, roll: list[list]) -> None:
        """The month's dues at the meeting: nearly everyone pays the amount due (the
        default category's rate of the month); a few do not, with or without a reason."""
        rng, month = self.dues_rng, meeting.date.replace(day=1)
        due = self.rates.due(settings.DUES_DEFAULT_CATEGORY, 0, month)
        for member_id, standing, _is_full, _temporary in roll:
            if standing == Standing.AWAY or (member_id, month) in self.dues:
                continue
            if (
                self.defaulter is None
                and month.year == self.today.year
                and standing == Standing.COUNTED
            ):
                self.defaulter = member_id
            draw = rng.random()
            if member_id == self.defaulter and month.month in (2, 3, 4):
                paid, reason = 0, ""
            elif draw < 0.002:
                paid, reason = 0, ""
            elif draw < 0.02:
                paid, reason = 0, rng.choice(EXCUSES)
            else:
                paid, reason = due, ""
            self.dues[(member_id, month)] = [
                member_id,
                meeting.branch_id,
                month,
                due,
                paid,
                meeting.date if paid else None,
                reason,
                meeting,
            ]

    def planned(self, branch: Branch, date: datetime.date) -> None:
        self.meetings.append(
            Meeting(
                branch=branch,
                date=date,
                kind=MeetingKind.REGULAR,
                place=self.place(branch),
                agenda=self.agenda,
                status=MeetingStatus.PLANNED,
                created_by=self.creators.get(branch.pk),
            )
        )

    def place(self, branch: Branch) -> str:
        if branch.kind == BranchKind.VILLAGE:
            return (
                f"Nhà văn hóa {branch.village.name[:1].lower()}{branch.village.name[1:]}"
                if branch.village.name.startswith("Thôn")
                else f"Nhà văn hóa thôn {branch.village.name}"
            )
        return PLACES.get(branch.kind, "Hội trường")

    def review(
        self, meeting: Meeting, open_tasks: list[tuple[Task, str]]
    ) -> list[tuple[Task, str]]:
        """Last month's tasks, reviewed at the regular meeting: most done, a few
        carried over, now and then one dropped with its reason."""
        still_open = []
        for task, kind in open_tasks:
            draw = self.rng.random()
            if draw < 0.8:
                outcome, reason = ReviewOutcome.DONE, ""
                task.status, task.closed_at = TaskStatus.DONE, meeting
            elif draw < 0.95:
                outcome, reason = ReviewOutcome.CARRIED_OVER, ""
                still_open.append((task, kind))
            else:
                outcome = ReviewOutcome.DROPPED
                reason = DROP_REASONS.get(kind, "Không còn phù hợp với tình hình thực tế")
                task.status, task.closed_at, task.drop_reason = TaskStatus.DROPPED, meeting, reason
            self.reviews.append(
                TaskReview(meeting=meeting, task=task, outcome=outcome, reason=reason)
            )
        return still_open

    def set_tasks(
        self, branch: Branch, meeting: Meeting, present: list[int]
    ) -> list[tuple[Task, str]]:
        rng = self.rng
        created = []
        for _ in range(rng.choice([0, 1, 1, 2])):
            if not present:
                break
            kind = weighted(
                rng, VILLAGE_TASKS if branch.kind == BranchKind.VILLAGE else OTHER_TASKS
            )
            task = Task(
                meeting=meeting,
                description=TASK_TEXT[kind].format(month=f"{meeting.date:%m/%Y}"),
                due_on=meeting.date + DAY * rng.randint(25, 35),
                status=TaskStatus.OPEN,
            )
            if kind == "household":
                task.household_head = self.household_head(rng)
                task.household_village = branch.village
            self.tasks.append(task)
            for member_id in rng.sample(present, min(len(present), rng.choice([1, 1, 2]))):
                self.assignees.append((task, member_id))
            created.append((task, kind))
        return created

    @staticmethod
    def household_head(rng: random.Random) -> str:
        ethnicity = weighted(rng, ETHNIC_WEIGHTS)
        return person_name(rng, ethnicity, rng.choice(["male", "female"]))
