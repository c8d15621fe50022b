"""The roll under several editors: each save writes only the lines its user
changed, and a save over lines someone else changed since the form was opened
is refused, showing their marks, with nothing written."""

import random
import re

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branches.access import scope_for
from meetings.models import Attendance
from meetings.services.attendance import line_values, meeting_mark_attendance, meeting_open_roll
from pacnam.lib.rowstamps import RowsChanged, row_stamp
from tests.conftest import make_member
from tests.test_meetings_views import new_meeting


def form_of(page: str) -> dict:
    """The roll form as a browser would send it untouched: stamps, checked radios, reasons."""
    data = dict(re.findall(r'name="(stamp-\d+)" value="([^"]*)"', page))
    data.update(re.findall(r'name="(presence-\d+)" value="(\w+)" checked', page))
    data.update(re.findall(r'name="(reason-\d+)" value="([^"]*)"', page))
    return data


@pytest.fixture
def roll(world):
    members = [make_member(world.branch, name=f"Đảng viên {i:02d}") for i in range(11)]
    meeting = new_meeting(world)
    meeting_open_roll(scope=scope_for(world.branch_secretary), meeting=meeting)
    return meeting, members


def marks_of(meeting) -> dict:
    return dict(Attendance.objects.filter(meeting=meeting).values_list("member_id", "presence"))


def test_two_editors_marking_different_members_lose_nothing(world, roll):
    meeting, members = roll
    url = reverse("meetings:roll", args=[meeting.pk])
    a, b = Client(), Client()
    a.force_login(world.branch_secretary)
    b.force_login(world.secretary)
    form_a, form_b = form_of(a.get(url).content.decode()), form_of(b.get(url).content.decode())
    for m in members[:5]:
        form_a[f"presence-{m.pk}"] = "present"
    for m in members[5:]:
        form_b[f"presence-{m.pk}"] = "absent"
    assert a.post(url, form_a).status_code == 302
    assert b.post(url, form_b).status_code == 302
    marks = marks_of(meeting)
    assert all(marks[m.pk] == "present" for m in members[:5])
    assert all(marks[m.pk] == "absent" for m in members[5:])


def test_second_editor_changing_the_same_member_is_refused_and_shown(world, roll):
    meeting, members = roll
    url = reverse("meetings:roll", args=[meeting.pk])
    a, b = Client(), Client()
    a.force_login(world.branch_secretary)
    b.force_login(world.secretary)
    form_a, form_b = form_of(a.get(url).content.decode()), form_of(b.get(url).content.decode())
    form_a[f"presence-{members[0].pk}"] = "present"
    form_b[f"presence-{members[0].pk}"] = "absent"
    form_b[f"presence-{members[1].pk}"] = "present"
    assert a.post(url, form_a).status_code == 302
    response = b.post(url, form_b)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="card conflicts"' in page
    assert "Đảng viên 00" in page.split('class="card conflicts"')[1].split("</div>")[0]
    # Nothing of B's was written, A's mark stands, and B's other tap is kept in the form.
    marks = marks_of(meeting)
    assert marks[members[0].pk] == "present" and marks[members[1].pk] == ""
    again = form_of(page)
    assert again[f"presence-{members[0].pk}"] == "present"  # theirs, as saved
    assert again[f"presence-{members[1].pk}"] == "present"  # B's own tap kept
    # Saving the re-shown form writes B's other mark and keeps A's.
    assert b.post(url, again).status_code == 302
    marks = marks_of(meeting)
    assert marks[members[0].pk] == "present" and marks[members[1].pk] == "present"


def test_a_form_without_a_line_leaves_it_alone(world, roll):
    meeting, members = roll
    scope = scope_for(world.branch_secretary)
    meeting_mark_attendance(scope=scope, meeting=meeting, marks={members[0].pk: ("present", "")})
    url = reverse("meetings:roll", args=[meeting.pk])
    client = Client()
    client.force_login(world.branch_secretary)
    response = client.post(url, {f"presence-{members[1].pk}": "absent"})
    assert response.status_code == 302
    assert marks_of(meeting)[members[0].pk] == "present"


PRESENCES = ["present", "absent", "excused"]


def run_editors(meeting, scope, member_ids, steps) -> None:
    """Apply steps (editor, action, marks) and check against a model of the rule:
    a save writes the marks its editor changed, unless one of them was changed
    by someone else since that editor opened the form, then nothing."""
    model = dict.fromkeys(member_ids, ("", ""))
    last_writer = dict.fromkeys(member_ids)
    opened_by: dict[int, dict] = {}
    conflicts = 0
    for editor, action, marks in steps:
        if action == "open" or editor not in opened_by:
            lines = Attendance.objects.filter(meeting=meeting, member_id__in=member_ids)
            opened_by[editor] = {a.member_id: line_values(a) for a in lines}
            continue
        shown = opened_by[editor]
        wanted = {m: (p, "Bận" if p == "excused" else "") for m, p in marks.items()}
        clash = [m for m, v in wanted.items() if v != shown[m] and model[m] not in (shown[m], v)]
        stamps = {m: row_stamp(v) for m, v in shown.items()}
        try:
            meeting_mark_attendance(scope=scope, meeting=meeting, marks=wanted, opened=stamps)
        except RowsChanged as exc:
            assert clash, "refused without a conflict"
            assert sorted(c.key for c in exc.conflicts) == sorted(clash)
            assert all(c.current == model[c.key] for c in exc.conflicts)
            conflicts += 1
        else:
            assert not clash, "a change by someone else was overwritten"
            for m, v in wanted.items():
                if v != shown[m] and model[m] != v:
                    model[m], last_writer[m] = v, editor
        # Each editor opens the form afresh after saving, as the page redirects.
        opened_by.pop(editor)
        lines = Attendance.objects.filter(meeting=meeting, member_id__in=member_ids)
        assert {a.member_id: line_values(a) for a in lines} == model
    # Every mark is that of whoever changed it last.
    assert all((model[m] == ("", "")) == (last_writer[m] is None) for m in member_ids)
    return conflicts


step = st.tuples(
    st.integers(0, 3),
    st.sampled_from(["open", "save", "save"]),
    st.dictionaries(st.integers(0, 5), st.sampled_from(PRESENCES), max_size=4),
)


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=2, max_size=25))
def test_random_interleavings_of_editors_end_with_the_last_marks(world, roll, steps):
    meeting, members = roll
    Attendance.objects.filter(meeting=meeting).update(presence="", reason="")
    ids = [m.pk for m in members[:6]]
    resolved = [(e, a, {ids[i]: p for i, p in marks.items()}) for e, a, marks in steps]
    run_editors(meeting, scope_for(world.branch_secretary), ids, resolved)


def test_four_editors_ten_saves_each_seeded(world, roll):
    """The measurement of the issue (4 clients x 10 saves) as a seeded run."""
    meeting, members = roll
    ids = [m.pk for m in members]
    rng = random.Random(28)
    steps = []
    for _ in range(80):
        editor = rng.randrange(4)
        marks = {m: rng.choice(PRESENCES) for m in rng.sample(ids, rng.randint(1, 4))}
        steps.append((editor, rng.choice(["open", "save", "save"]), marks))
    conflicts = run_editors(meeting, scope_for(world.branch_secretary), ids, steps)
    assert conflicts > 0  # the run does exercise refusals
