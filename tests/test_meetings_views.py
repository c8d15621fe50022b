"""Meeting pages: who sees what, the phone roll, the printable minutes, and
query counts that do not grow with the number of members and tasks."""

import datetime

import pytest
from django.urls import reverse

from branches.access import scope_for
from meetings.models import Attendance, Meeting, MeetingKind, MeetingStatus, Task
from meetings.services.attendance import meeting_mark_attendance, meeting_open_roll
from meetings.services.meetings import meeting_adopt_minutes, meeting_create, meeting_hold
from meetings.services.tasks import task_create, task_review
from tests.conftest import make_member

D = datetime.date
MAY = D(2019, 5, 10)

SEES = {"admin", "district", "secretary", "branch_secretary"}


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # Tests run no collectstatic: plain static names (main's testenv does the same
    # with STATIC_MANIFEST=0 once merged).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def new_meeting(world, date=MAY, kind=MeetingKind.REGULAR, branch=None, **kw):
    meeting = Meeting(branch=branch or world.branch, date=date, kind=kind, **kw)
    return meeting_create(scope=scope_for(world.secretary), user=world.secretary, meeting=meeting)


def user_for(world, role):
    return None if role == "anonymous" else getattr(world, role)


def page_urls(world):
    meeting = new_meeting(world)
    return meeting, [
        reverse("meetings:branch", args=[world.branch.pk]),
        reverse("meetings:new", args=[world.branch.pk]),
        reverse("meetings:detail", args=[meeting.pk]),
        reverse("meetings:roll", args=[meeting.pk]),
        reverse("meetings:minutes", args=[meeting.pk]),
        reverse("meetings:sheet", args=[meeting.pk]),
    ]


@pytest.mark.parametrize(
    "role",
    ["admin", "district", "secretary", "branch_secretary", "outsider", "nobody", "anonymous"],
)
def test_meeting_pages_per_role(world, login, role):
    _, urls = page_urls(world)
    client = login(user_for(world, role))
    for url in urls:
        response = client.get(url)
        if role == "anonymous":
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
        elif role in SEES:
            assert response.status_code == 200, url
        else:
            assert response.status_code == 404, url


@pytest.mark.parametrize(
    "role",
    ["admin", "district", "secretary", "branch_secretary", "outsider", "nobody", "anonymous"],
)
def test_reports_page_per_role(world, login, role):
    new_meeting(world)
    client = login(user_for(world, role))
    response = client.get(reverse("meetings:reports"), {"month": "2019-05"})
    if role == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        return
    assert response.status_code == 200
    text = response.content.decode()
    # Everyone sees only the branches of their scope.
    assert ("Chi bộ thôn Cốc Lải" in text) == (role in SEES)
    assert ("Chi bộ thôn Khâu Slôm" in text) == (role in {"admin", "district", "outsider"})


@pytest.mark.parametrize(
    "role",
    ["admin", "district", "secretary", "branch_secretary", "outsider", "nobody", "anonymous"],
)
def test_recording_a_meeting_per_role(world, login, role):
    client = login(user_for(world, role))
    response = client.post(
        reverse("meetings:new", args=[world.branch.pk]),
        {"date": "2019-05-10", "kind": "regular", "place": "Nhà văn hoá thôn"},
    )
    created = Meeting.objects.filter(branch=world.branch).exists()
    if role in SEES:
        assert response.status_code == 302
        assert created
    else:
        assert response.status_code == (302 if role == "anonymous" else 404)
        assert not created


def test_branch_secretary_does_not_see_the_other_branches_meetings(world, login):
    other = new_meeting(world, branch=world.branch2)
    client = login(world.branch_secretary)
    assert client.get(reverse("meetings:detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("meetings:branch", args=[world.branch2.pk])).status_code == 404
    assert (
        login(world.secretary).get(reverse("meetings:detail", args=[other.pk])).status_code == 200
    )


def test_changes_are_post_only(world, login):
    meeting = new_meeting(world)
    client = login(world.branch_secretary)
    for name in ("edit", "hold", "adopt", "task_add", "review", "addendum_add"):
        assert client.get(reverse(f"meetings:{name}", args=[meeting.pk])).status_code == 405
    assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.PLANNED


def test_outsider_cannot_post_to_a_meeting(world, login):
    meeting = new_meeting(world)
    client = login(world.outsider)
    response = client.post(reverse("meetings:hold", args=[meeting.pk]))
    assert response.status_code == 404
    assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.PLANNED


def test_phone_roll_one_tap_per_member(world, login):
    members = [make_member(world.branch, name=f"Đảng viên {i:02d}") for i in range(12)]
    meeting = new_meeting(world)
    client = login(world.branch_secretary)
    roll_url = reverse("meetings:roll", args=[meeting.pk])
    page = client.get(roll_url).content.decode()
    assert 'name="open"' in page  # nothing is written by a GET
    assert not Attendance.objects.exists()
    client.post(roll_url, {"open": "1"})
    page = client.get(roll_url).content.decode()
    assert 'class="roll"' in page
    # Three big buttons per member for the attendance, two for the month's dues.
    assert page.count('type="radio" name="presence-') == 3 * 13
    assert page.count('type="radio" name="dues-') == 2 * 13
    data = {f"presence-{m.pk}": "present" for m in members}
    data[f"presence-{world.member.pk}"] = "excused"
    data[f"reason-{world.member.pk}"] = "Đi viện"
    response = client.post(roll_url, data)
    assert response.status_code == 302
    detail = client.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    assert "Đi viện" in detail
    assert Attendance.objects.filter(meeting=meeting, presence="present").count() == 12


def test_roll_keeps_taps_when_a_reason_is_missing(world, login):
    other = make_member(world.branch, name="Đinh Văn Có")
    meeting = new_meeting(world)
    client = login(world.branch_secretary)
    roll_url = reverse("meetings:roll", args=[meeting.pk])
    client.post(roll_url, {"open": "1"})
    response = client.post(
        roll_url, {f"presence-{world.member.pk}": "excused", f"presence-{other.pk}": "present"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f'name="presence-{other.pk}" value="present" checked' in page
    assert not Attendance.objects.filter(meeting=meeting).exclude(presence="").exists()


def adopted_meeting(world, client):
    helper = make_member(world.branch, name="Đinh Thị Ghi")
    meeting = new_meeting(world, chair=world.member, secretary=helper, minutes="Nội dung họp")
    scope = scope_for(world.branch_secretary)
    meeting_hold(scope=scope, meeting=meeting)
    meeting_mark_attendance(
        scope=scope,
        meeting=meeting,
        marks={world.member.pk: ("present", ""), helper.pk: ("absent", "")},
    )
    meeting_adopt_minutes(scope=scope, meeting=meeting, on=MAY)
    return meeting


def test_adopted_meeting_page_has_no_edit_form_and_refuses_a_post(world, login):
    client = login(world.branch_secretary)
    meeting = adopted_meeting(world, client)
    page = client.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    assert reverse("meetings:edit", args=[meeting.pk]) not in page
    assert reverse("meetings:addendum_add", args=[meeting.pk]) in page
    response = client.post(
        reverse("meetings:edit", args=[meeting.pk]),
        {"date": "2019-05-10", "kind": "regular", "minutes": "Viết lại"},
        follow=True,
    )
    assert Meeting.objects.get(pk=meeting.pk).minutes == "Nội dung họp"
    assert any(m.level_tag == "error" for m in response.context["messages"])
    client.post(
        reverse("meetings:addendum_add", args=[meeting.pk]),
        {"dated": "2019-05-20", "text": "Đính chính"},
    )
    assert (
        "Đính chính" in client.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    )


def test_printable_minutes_in_vietnamese(world, login):
    client = login(world.branch_secretary)
    meeting = adopted_meeting(world, client)
    page = client.get(reverse("meetings:minutes", args=[meeting.pk])).content.decode()
    for wording in (
        "ĐẢNG BỘ XÃ CAO TÂN",
        "CHI BỘ THÔN CỐC LẢI",
        "ĐẢNG CỘNG SẢN VIỆT NAM",
        "Cao Tân, ngày 10 tháng 05 năm 2019",
        "BIÊN BẢN SINH HOẠT CHI BỘ",
        "Thời gian",
        "Địa điểm",
        "Chủ trì",
        "Thư ký",
        "Tổng số đảng viên",
        "Có mặt",
        "Vắng có lý do",
        "Vắng không lý do",
        'class="document"',
    ):
        assert wording in page, wording
    sheet = client.get(reverse("meetings:sheet", args=[meeting.pk])).content.decode()
    assert "Đinh Thị Ghi" in sheet and "Vắng không lý do" in sheet


def test_meeting_below_quorum_is_flagged(world, login, settings):
    settings.MEETING_QUORUM = 0.5
    others = [make_member(world.branch, name=f"Đảng viên {i}") for i in range(2)]
    meeting = new_meeting(world)
    scope = scope_for(world.branch_secretary)
    meeting_open_roll(scope=scope, meeting=meeting)
    client = login(world.branch_secretary)
    url = reverse("meetings:detail", args=[meeting.pk])
    marks = {world.member.pk: ("present", ""), others[0].pk: ("absent", "")}
    meeting_mark_attendance(scope=scope, meeting=meeting, marks=marks)
    # Not flagged while the roll is half taken.
    assert "below-quorum" not in client.get(url).content.decode()
    meeting_mark_attendance(scope=scope, meeting=meeting, marks={others[1].pk: ("absent", "")})
    assert "below-quorum" in client.get(url).content.decode()
    settings.MEETING_QUORUM = 0.3
    assert "below-quorum" not in client.get(url).content.decode()


def test_task_review_through_the_page(world, login):
    client = login(world.branch_secretary)
    april = new_meeting(world, date=D(2019, 4, 10))
    task = task_create(
        scope=scope_for(world.branch_secretary),
        meeting=april,
        description="Giúp đỡ hộ nghèo",
        due_on=D(2019, 5, 1),
        assignees=[world.member],
        household_head="Hoàng Văn Nghèo",
        household_village=world.village,
    )
    may = new_meeting(world)
    page = client.get(reverse("meetings:detail", args=[may.pk])).content.decode()
    assert "Giúp đỡ hộ nghèo" in page and "Hoàng Văn Nghèo" in page
    client.post(reverse("meetings:review", args=[may.pk]), {f"outcome-{task.pk}": "done"})
    assert Task.objects.get(pk=task.pk).status == "done"


def test_add_task_through_the_page(world, login):
    client = login(world.branch_secretary)
    meeting = new_meeting(world)
    client.post(
        reverse("meetings:task_add", args=[meeting.pk]),
        {
            "description": "Vệ sinh đường thôn",
            "assignees": [world.member.pk],
            "due_on": "2019-06-01",
        },
    )
    task = Task.objects.get()
    assert list(task.assignees.all()) == [world.member]


def build(world, members: int, tasks: int) -> Meeting:
    """A held meeting with `members` on the roll and `tasks` set, after a meeting
    that left `tasks` open tasks for review."""
    scope = scope_for(world.branch_secretary)
    people = [make_member(world.branch, name=f"Đảng viên {i:02d}") for i in range(members)]
    april = new_meeting(world, date=D(2019, 4, 10))
    earlier = [
        task_create(
            scope=scope,
            meeting=april,
            description=f"Việc {i}",
            due_on=D(2019, 5, 1),
            assignees=people[:2],
            household_head="Hộ",
            household_village=world.village,
        )
        for i in range(tasks)
    ]
    meeting = new_meeting(world)
    # Half of last month's tasks reviewed already, the rest still waiting.
    task_review(scope=scope, meeting=meeting, outcomes={t.pk: ("done", "") for t in earlier[::2]})
    meeting_hold(scope=scope, meeting=meeting)
    meeting_mark_attendance(
        scope=scope, meeting=meeting, marks={p.pk: ("present", "") for p in people}
    )
    for i in range(tasks):
        task_create(
            scope=scope,
            meeting=meeting,
            description=f"Việc mới {i}",
            due_on=D(2019, 6, 1),
            assignees=people[:3],
        )
    return meeting


# Queries on the meeting page for a branch secretary (editable meeting):
# session, user, role (scope), meeting with branch/commune/chair/secretary,
# attendance lines with members, tasks, their assignees, reviews at this
# meeting, open tasks to review, addenda, chair choices, secretary choices,
# task assignee choices, task village choices; then the session is saved
# (SESSION_SAVE_EVERY_REQUEST: savepoint, update, release).
SESSION_SAVE = 3
MEETING_PAGE_QUERIES = 14 + SESSION_SAVE


@pytest.mark.parametrize("members, tasks", [(3, 1), (30, 8)])
def test_meeting_page_queries_do_not_grow(world, login, django_assert_num_queries, members, tasks):
    meeting = build(world, members, tasks)
    client = login(world.branch_secretary)
    url = reverse("meetings:detail", args=[meeting.pk])
    with django_assert_num_queries(MEETING_PAGE_QUERIES):
        response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("Việc mới") == tasks
    assert page.count('name="outcome-') == 3 * tasks  # every earlier task, reviewed or not


@pytest.mark.parametrize("members, tasks", [(3, 1), (30, 8)])
def test_other_pages_queries_do_not_grow(world, login, django_assert_num_queries, members, tasks):
    meeting = build(world, members, tasks)
    client = login(world.district)
    # session, user, role, whether the district holds every commune (Scope.sees_all),
    # meeting, attendance, tasks, assignees, reviews, open tasks, addenda
    with django_assert_num_queries(11 + SESSION_SAVE):
        assert client.get(reverse("meetings:minutes", args=[meeting.pk])).status_code == 200
    # session, user, role, whether the district holds every commune, meeting, attendance
    with django_assert_num_queries(6 + SESSION_SAVE):
        assert client.get(reverse("meetings:sheet", args=[meeting.pk])).status_code == 200
    # session, user, role, the district's communes (Scope._officer_communes), branch,
    # meetings with counts
    with django_assert_num_queries(6 + SESSION_SAVE):
        assert client.get(reverse("meetings:branch", args=[world.branch.pk])).status_code == 200
    # session, user, role, the district's communes (Scope._officer_communes), communes
    # (counted, then the form's), branches with monthly counts, attendance per
    # branch, per member, cadres
    with django_assert_num_queries(10 + SESSION_SAVE):
        assert client.get(reverse("meetings:reports"), {"year": "2019"}).status_code == 200


def test_second_regular_meeting_in_a_month_is_a_form_error(world, login):
    new_meeting(world)
    client = login(world.branch_secretary)
    response = client.post(
        reverse("meetings:new", args=[world.branch.pk]), {"date": "2019-05-20", "kind": "regular"}
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert Meeting.objects.filter(branch=world.branch).count() == 1
    response = client.post(
        reverse("meetings:new", args=[world.branch.pk]), {"date": "2019-05-20", "kind": "thematic"}
    )
    assert response.status_code == 200
    assert Meeting.objects.filter(branch=world.branch).count() == 1


def test_admin_shows_meetings_with_attendance_and_tasks(world, login):
    client = login(world.branch_secretary)
    meeting = adopted_meeting(world, client)
    task = task_create(
        scope=scope_for(world.secretary),
        meeting=new_meeting(world, date=D(2019, 6, 10)),
        description="Giúp đỡ hộ nghèo",
        due_on=D(2019, 7, 1),
        assignees=[world.member],
    )
    client = login(world.admin)
    page = client.get(reverse("admin:meetings_meeting_change", args=[meeting.pk])).content.decode()
    assert "Đinh Thị Ghi" in page  # an attendance line, inline
    assert client.get(reverse("admin:meetings_meeting_changelist")).status_code == 200
    assert client.get(reverse("admin:meetings_task_change", args=[task.pk])).status_code == 200
    assert client.get(reverse("admin:meetings_task_changelist")).status_code == 200


def test_a_province_report_has_a_line_per_commune_until_one_is_chosen(
    world, login, monkeypatch, django_assert_num_queries
):
    """Beyond COMMUNE_SUMMARY_FROM communes the report counts per commune in the
    database instead of listing every branch and member (a province)."""
    from meetings import reports

    new_meeting(world)
    client = login(world.district)
    by_branch = client.get(reverse("meetings:reports"), {"month": "2019-05"}).context
    monkeypatch.setattr(reports, "COMMUNE_SUMMARY_FROM", 1)
    for period in ({"month": "2019-05"}, {"year": "2019"}):
        # session, user, role, whether the district holds every commune (Scope.sees_all),
        # communes counted, the form's communes, the per-commune counts
        with django_assert_num_queries(7 + SESSION_SAVE):
            response = client.get(reverse("meetings:reports"), period)
        rows = {c.code: c for c in response.context["by_commune"]}
        assert set(rows) == {world.commune.code, world.other_commune.code}
        assert "Chi bộ thôn Cốc Lải" not in response.text  # no branch lines
        link = f'commune={world.commune.pk}"'
        assert link in response.text
    month = {
        c.code: c
        for c in client.get(reverse("meetings:reports"), {"month": "2019-05"}).context["by_commune"]
    }
    # The same figures as the branch lines, summed per commune.
    for code, row in month.items():
        lines = [r for r in by_branch["rows"] if r.branch.commune.code == code]
        assert (row.branches, row.without) == (
            len(lines),
            sum(1 for r in lines if r.months_without),
        )
    assert sum(r.without for r in month.values()) == by_branch["without"] > 0
    # A commune chosen: its branches and members again.
    response = client.get(
        reverse("meetings:reports"), {"month": "2019-05", "commune": world.commune.pk}
    )
    assert "by_commune" not in response.context and "Chi bộ thôn Cốc Lải" in response.text
