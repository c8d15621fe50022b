"""Every URL × every role, as pretix's permission tests do.

`_matrix` names every page of the registry with the URL to request in the shared
world and the status each role gets. Outside one's scope a record is a 404;
anonymous users are sent to the login page. `test_every_url_is_in_the_matrix`
fails when someone adds a URL without adding it here.

An action (a POST) also says what it does (`Post`): the form a person would
send, the state it needs, what it must have changed in the database and where
it then sends the person. A role allowed the action must get exactly that; a
role refused it must leave the database as it was. Each action runs in a
transaction rolled back afterwards, so every one starts from the same world.
"""

import datetime
import io
from collections.abc import Callable
from typing import NamedTuple

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from branches.access import scope_for
from branches.models import Reorganization, Village
from meetings.models import Attendance, Meeting, MeetingStatus, Task
from meetings.services.attendance import meeting_mark_attendance, meeting_open_roll
from meetings.services.meetings import meeting_adopt_minutes, meeting_hold, meeting_update
from meetings.services.tasks import task_create
from members.io.read import HEADERS
from members.models import (
    Candidate,
    CandidateStep,
    DissolutionBatch,
    ImportJob,
    Member,
    Transfer,
    TransferStatus,
)
from members.services.dissolutions import branch_dissolve
from members.services.transfers import transfer_issue_letter, transfer_request
from tests.conftest import make_branch, make_member, make_village
from tests.growth_helpers import make_candidate

D = datetime.date

ROLES = [
    "admin",
    "district",
    "province",
    "secretary",
    "branch_secretary",
    "outsider",
    "nobody",
    "retired",
]

# Who gets what, as healthchecks does it: outside one's scope a record is a
# 404; inside it but read-only (the branch secretary, for registry changes) 403.
ALL = dict(admin=200, district=200, secretary=200, branch_secretary=200, outsider=200, nobody=200)
WITH_ROLE = dict(ALL, nobody=404)
# Our commune's records: district level and our commune secretary.
COMMUNE = dict(
    admin=200, district=200, secretary=200, branch_secretary=404, outsider=404, nobody=404
)
# Changes to our commune's records that the branch secretary can see but not make.
COMMUNE_WRITE = dict(COMMUNE, branch_secretary=403)
# Our branch's records: our branch secretary too.
BRANCH = dict(COMMUNE, branch_secretary=200)
# District decisions (undoing a dissolution).
DISTRICT_WRITE = dict(COMMUNE_WRITE, secretary=403)
# Creating registry records (each in one's own commune).
EDITORS = dict(
    admin=200, district=200, secretary=200, branch_secretary=403, outsider=200, nobody=404
)
# Importing into the registry: district level and commune secretaries.
IMPORTERS = dict(EDITORS, branch_secretary=404)
# An import's page: the user who uploaded it (here our commune secretary), nobody else.
UPLOADER = dict(
    admin=404, district=404, secretary=200, branch_secretary=404, outsider=404, nobody=404
)
# District level only (the read log, reorganisations of communes).
DISTRICT = dict(
    admin=200, district=200, secretary=404, branch_secretary=404, outsider=404, nobody=404
)


def _in_time(expected: dict) -> dict:
    """The roles of issue 13: the province's officer sees and does what the
    district officer does (all the world's communes are in the province); a
    secretary whose role ended sees what a user without a role sees."""
    return dict(expected, province=expected["district"], retired=expected["nobody"])


(
    ALL,
    WITH_ROLE,
    COMMUNE,
    COMMUNE_WRITE,
    BRANCH,
    DISTRICT_WRITE,
    EDITORS,
    IMPORTERS,
    DISTRICT,
    UPLOADER,
) = (
    _in_time(d)
    for d in (
        ALL,
        WITH_ROLE,
        COMMUNE,
        COMMUNE_WRITE,
        BRANCH,
        DISTRICT_WRITE,
        EDITORS,
        IMPORTERS,
        DISTRICT,
        UPLOADER,
    )
)


class Post(NamedTuple):
    """What an action does, for a role allowed it."""

    data: Callable  # (world, user) -> the form a person would send
    done: Callable  # (world) -> whether the database shows the action's effect
    then: Callable | None  # (world) -> where it redirects afterwards; None: it answers 200
    prepare: Callable | None = None  # (world, client, user): the state the action needs


def _extras(w) -> None:
    """The records the matrix's URLs point at, made once per world."""
    if hasattr(w, "meeting"):
        return
    w.meeting = Meeting.objects.create(branch=w.branch, date=D(2024, 5, 10), kind="regular")
    # A reorganisation on record (one that changed nothing: the world stays as it is).
    w.reorganization = Reorganization.objects.create(decision="1683/NQ-UBTVQH15", on=D(2025, 7, 1))
    w.candidate = make_candidate(w, name="Hà Thị Mai")
    # Admitted in 2023: the 12 months' probation ended in January 2024.
    w.probationer = make_member(
        w.branch,
        name="Vi Thị Thử",
        admitted_on=D(2023, 1, 5),
        full_on=None,
        birth_date=D(1995, 3, 3),
    )
    w.transfer = transfer_request(
        on=D(2019, 4, 1), by=w.secretary, member=w.member, to_branch=w.branch2
    )
    transfer_issue_letter(
        transfer=w.transfer, by=w.secretary, on=D(2019, 4, 2), signer_title="Bí thư"
    )
    # A second transfer, still waiting for its letter.
    mover = make_member(w.branch, name="Nông Văn Chuyển")
    w.requested = transfer_request(
        on=D(2019, 4, 1), by=w.secretary, member=mover, to_branch=w.branch2
    )
    w.batch = branch_dissolve(
        branch=w.office, decision="15-QĐ/ĐU", on=D(2019, 4, 1), by=w.secretary
    )
    # A branch that may be dissolved (branch2 may not: transfers into it are in progress).
    w.small_branch = make_branch(
        w.commune, village=make_village(w.commune, "Bản Nhỏ"), name="Chi bộ bản Nhỏ"
    )
    w.small_member = make_member(w.small_branch, name="Lường Văn Nhỏ")
    w.import_job = ImportJob.objects.create(
        user=w.secretary, kind="villages", filename="v.csv", status="checked"
    )


def _status(model, pk, value) -> Callable:
    return lambda w: model.objects.filter(pk=pk, status=value).exists()


def _meeting_ready_to_adopt(w, client, user) -> None:
    """Held, with minutes, chair and secretary, and everyone on the roll marked."""
    scope = scope_for(w.branch_secretary)
    meeting_update(
        scope=scope,
        meeting=w.meeting,
        changes={
            "chair": w.probationer,
            "secretary": Member.objects.get(pk=w.requested.member_id),
            "minutes": "Chi bộ thảo luận nhiệm vụ tháng 5.",
        },
    )
    meeting_hold(scope=scope, meeting=w.meeting)
    meeting_open_roll(scope=scope, meeting=w.meeting)
    marks = {a.member_id: ("present", "") for a in Attendance.objects.filter(meeting=w.meeting)}
    meeting_mark_attendance(scope=scope, meeting=w.meeting, marks=marks)


def _meeting_adopted(w, client, user) -> None:
    _meeting_ready_to_adopt(w, client, user)
    meeting_adopt_minutes(scope=scope_for(w.branch_secretary), meeting=w.meeting, on=D(2024, 5, 20))


def _task_to_review(w, client, user) -> None:
    """An April meeting that gave a task due before the May meeting reviews it."""
    april = Meeting.objects.create(branch=w.branch, date=D(2024, 4, 10), kind="regular")
    w.task = task_create(
        scope=scope_for(w.branch_secretary),
        meeting=april,
        description="Giúp đỡ hộ nghèo",
        due_on=D(2024, 5, 1),
        assignees=[w.probationer],
        household_head="Hoàng Văn Nghèo",
        household_village=w.village,
    )


def _villages_uploaded(w, client, user) -> None:
    """The import's preview step: a file of one new village in the user's commune."""
    commune = w.other_commune if user == w.outsider else w.commune
    content = ",".join(HEADERS["villages"]) + f"\n{commune.code},V77777,Thôn Mới,40,200\n"
    upload = io.BytesIO(content.encode())
    upload.name = "villages.csv"
    client.post(reverse("members:import"), {"kind": "villages", "file": upload})


def _import_token(w, user) -> dict:
    job = ImportJob.objects.filter(user=user, kind="villages", filename="villages.csv").first()
    return {"token": str(job.pk) if job else ""}


def _import_page(w) -> str:
    return ImportJob.objects.get(filename="villages.csv").get_absolute_url()


def _detail(name, pk_of) -> Callable:
    return lambda w: reverse(name, args=[pk_of(w)])


def _matrix(w) -> dict[str, tuple]:
    _extras(w)
    meeting, candidate, transfer, batch = w.meeting, w.candidate, w.transfer, w.batch
    meeting_page = _detail("meetings:detail", lambda w: w.meeting.pk)
    transfer_page = _detail("transfers:detail", lambda w: w.transfer.pk)
    candidate_page = _detail("growth:candidate_detail", lambda w: w.candidate.pk)
    reason = {"reason": "Đương sự xin ở lại chi bộ"}
    return {
        "dashboard": ("/", ALL),
        "chart": ("/charts/age.svg", WITH_ROLE),
        "places:commune": (f"/communes/{w.commune.code}/", COMMUNE),
        "places:branch": (f"/branches/{w.branch.pk}/", BRANCH),
        "branches:branch_edit": (f"/branches/{w.branch.pk}/edit/", COMMUNE_WRITE),
        "branches:branch_new": ("/branches/new/", EDITORS),
        "places:village": (f"/villages/{w.village.pk}/", BRANCH),
        "branches:village_edit": (f"/villages/{w.village.pk}/edit/", COMMUNE_WRITE),
        "branches:village_new": ("/villages/new/", EDITORS),
        "members:list": ("/members/", ALL),
        "members:new": ("/members/new/", EDITORS),
        "members:detail": (f"/members/{w.member.pk}/", BRANCH),
        "members:edit": (f"/members/{w.member.pk}/edit/", COMMUNE_WRITE),
        "members:export_csv": ("/members/export.csv", WITH_ROLE),
        "members:export_xlsx": ("/members/export.xlsx", WITH_ROLE),
        "members:import": ("/import/", IMPORTERS),
        "members:import_job": (w.import_job.get_absolute_url(), UPLOADER),
        "members:import_confirm": (
            "POST /import/confirm/",
            IMPORTERS,
            Post(
                data=_import_token,
                prepare=_villages_uploaded,
                then=_import_page,
                done=lambda w: Village.objects.filter(code="V77777", name="Thôn Mới").exists(),
            ),
        ),
        "meetings:branch": (f"/branches/{w.branch.pk}/meetings/", BRANCH),
        "meetings:new": (f"/branches/{w.branch.pk}/meetings/new/", BRANCH),
        "meetings:reports": ("/meetings/reports/", ALL),
        "meetings:detail": (f"/meetings/{meeting.pk}/", BRANCH),
        "meetings:roll": (f"/meetings/{meeting.pk}/attendance/", BRANCH),
        "meetings:minutes": (f"/meetings/{meeting.pk}/minutes/", BRANCH),
        "meetings:sheet": (f"/meetings/{meeting.pk}/sheet/", BRANCH),
        "meetings:dues": (f"/meetings/{meeting.pk}/dues/", BRANCH),
        "meetings:dues_book": (f"/branches/{w.branch.pk}/dues/2024/", BRANCH),
        "meetings:dues_book_xlsx": (f"/branches/{w.branch.pk}/dues/2024.xlsx", BRANCH),
        "meetings:member_dues": (f"/members/{w.member.pk}/dues/2024/", BRANCH),
        "meetings:dues_behind": ("/dues/behind/", ALL),
        "meetings:dues_review": ("/dues/review/", ALL),
        "meetings:dues_totals": ("/dues/totals/", ALL),
        # The offline roll's pieces hold no one's data: every signed-in user gets them.
        "meetings:service_worker": ("/sw.js", ALL),
        "meetings:manifest": ("/manifest.webmanifest", ALL),
        "meetings:offline": ("/offline/", ALL),
        "meetings:edit": (
            f"POST /meetings/{meeting.pk}/edit/",
            BRANCH,
            Post(
                data=lambda w, user: {
                    "date": "2024-05-10",
                    "kind": "regular",
                    "place": "Nhà văn hóa thôn",
                },
                done=lambda w: Meeting.objects.filter(
                    pk=w.meeting.pk, place="Nhà văn hóa thôn"
                ).exists(),
                then=meeting_page,
            ),
        ),
        "meetings:hold": (
            f"POST /meetings/{meeting.pk}/hold/",
            BRANCH,
            Post(
                data=lambda w, user: {},
                done=_status(Meeting, meeting.pk, MeetingStatus.HELD),
                then=meeting_page,
            ),
        ),
        "meetings:adopt": (
            f"POST /meetings/{meeting.pk}/adopt/",
            BRANCH,
            Post(
                data=lambda w, user: {},
                prepare=_meeting_ready_to_adopt,
                done=_status(Meeting, meeting.pk, MeetingStatus.ADOPTED),
                then=meeting_page,
            ),
        ),
        "meetings:task_add": (
            f"POST /meetings/{meeting.pk}/tasks/",
            BRANCH,
            Post(
                data=lambda w, user: {
                    "description": "Vệ sinh đường thôn",
                    "assignees": [w.probationer.pk],
                    "due_on": "2024-06-01",
                },
                done=lambda w: Task.objects.filter(
                    meeting=w.meeting, description="Vệ sinh đường thôn"
                ).exists(),
                then=meeting_page,
            ),
        ),
        "meetings:review": (
            f"POST /meetings/{meeting.pk}/review/",
            BRANCH,
            Post(
                data=lambda w, user: {f"outcome-{w.task.pk}": "done"},
                prepare=_task_to_review,
                done=lambda w: Task.objects.filter(pk=w.task.pk, status="done").exists(),
                then=meeting_page,
            ),
        ),
        "meetings:addendum_add": (
            f"POST /meetings/{meeting.pk}/addenda/",
            BRANCH,
            Post(
                data=lambda w, user: {"dated": "2024-05-21", "text": "Đính chính số người dự họp"},
                prepare=_meeting_adopted,
                done=lambda w: w.meeting.addenda.filter(text="Đính chính số người dự họp").exists(),
                then=meeting_page,
            ),
        ),
        "growth:candidate_list": ("/candidates/", ALL),
        "growth:candidate_create": ("/candidates/new/", EDITORS),
        "growth:candidate_detail": (f"/candidates/{candidate.pk}/", BRANCH),
        "growth:candidate_step": (
            f"POST /candidates/{candidate.pk}/step/",
            COMMUNE_WRITE,
            Post(
                data=lambda w, user: {"step-on": "2024-01-10"},
                done=lambda w: (
                    Candidate.objects.get(pk=w.candidate.pk).next_step == CandidateStep.APPLICATION
                ),
                then=candidate_page,
            ),
        ),
        "growth:candidate_withdraw": (
            f"POST /candidates/{candidate.pk}/withdraw/",
            COMMUNE_WRITE,
            Post(
                data=lambda w, user: {
                    "withdraw-on": "2024-02-01",
                    "withdraw-reason": "Chuyển đi nơi khác",
                },
                done=lambda w: Candidate.objects.filter(
                    pk=w.candidate.pk, withdrawn_on=D(2024, 2, 1)
                ).exists(),
                then=candidate_page,
            ),
        ),
        "growth:probation_list": ("/probations/", ALL),
        "growth:member_recognize": (
            f"POST /probations/{w.probationer.pk}/recognize/",
            COMMUNE_WRITE,
            Post(
                data=lambda w, user: {
                    "branch_voted_on": "2024-02-01",
                    "decision_number": "12-QĐ/ĐU",
                    "decision_on": "2024-02-15",
                },
                done=lambda w: Member.objects.filter(
                    pk=w.probationer.pk, full_on=D(2024, 2, 15)
                ).exists(),
                then=lambda w: reverse("growth:probation_list"),
            ),
        ),
        "growth:rating_report": ("/ratings/", ALL),
        "growth:rating_form": (f"/ratings/{w.branch.pk}/2024/", BRANCH),
        "growth:badge_list": ("/badges/", ALL),
        "transfers:list": ("/transfers/", ALL),
        "transfers:incoming": ("/transfers/incoming/", EDITORS),
        "transfers:detail": (f"/transfers/{transfer.pk}/", BRANCH),
        "transfers:letter": (f"/transfers/{transfer.pk}/letter/", BRANCH),
        "transfers:issue_letter": (
            f"POST /transfers/{w.requested.pk}/issue-letter/",
            COMMUNE_WRITE,
            Post(
                data=lambda w, user: {"on": "2019-04-03", "signer_title": "Bí thư"},
                done=_status(Transfer, w.requested.pk, TransferStatus.LETTER_ISSUED),
                then=_detail("transfers:detail", lambda w: w.requested.pk),
            ),
        ),
        "transfers:receive": (
            f"POST /transfers/{transfer.pk}/receive/",
            COMMUNE_WRITE,
            Post(
                data=lambda w, user: {"on": "2019-04-05"},
                done=_status(Transfer, transfer.pk, TransferStatus.RECEIVED),
                then=transfer_page,
            ),
        ),
        "transfers:cancel": (
            f"POST /transfers/{transfer.pk}/cancel/",
            COMMUNE_WRITE,
            Post(
                data=lambda w, user: reason,
                done=_status(Transfer, transfer.pk, TransferStatus.CANCELLED),
                then=transfer_page,
            ),
        ),
        "transfers:refuse": (
            f"POST /transfers/{transfer.pk}/refuse/",
            COMMUNE_WRITE,
            Post(
                data=lambda w, user: reason,
                done=_status(Transfer, transfer.pk, TransferStatus.REFUSED),
                then=transfer_page,
            ),
        ),
        "transfers:start": (f"/members/{w.cadre.pk}/transfer/", COMMUNE_WRITE),
        "transfers:dissolution_choose": ("/dissolutions/", EDITORS),
        "transfers:dissolution_plan": (f"/dissolutions/branch/{w.branch2.pk}/", COMMUNE_WRITE),
        "transfers:dissolution_confirm": (
            f"POST /dissolutions/branch/{w.small_branch.pk}/confirm/",
            COMMUNE_WRITE,
            Post(
                data=lambda w, user: {
                    "decision": "16-QĐ/ĐU",
                    "on": "2019-04-10",
                    f"assign-{w.small_member.pk}": str(w.branch.pk),
                },
                done=lambda w: (
                    Member.objects.filter(pk=w.small_member.pk, branch=w.branch).exists()
                    and DissolutionBatch.objects.filter(branch=w.small_branch).exists()
                ),
                then=_detail(
                    "transfers:dissolution_detail",
                    lambda w: DissolutionBatch.objects.get(branch=w.small_branch).pk,
                ),
            ),
        ),
        "transfers:dissolution_detail": (f"/dissolutions/{batch.pk}/", COMMUNE),
        "transfers:dissolution_undo": (
            f"POST /dissolutions/{batch.pk}/undo/",
            DISTRICT_WRITE,
            Post(
                data=lambda w, user: {},
                done=lambda w: DissolutionBatch.objects.filter(
                    pk=w.batch.pk, undone_at__isnull=False
                ).exists(),
                then=_detail("transfers:dissolution_detail", lambda w: w.batch.pk),
            ),
        ),
        "transfers:policy_report": ("/reports/policy/", EDITORS),
        "report_upward": ("/reports/upward/", WITH_ROLE),
        "read_log": ("/read-log/", DISTRICT),
        "reorganization_list": ("/reorganizations/", DISTRICT),
        "reorganization_new": ("/reorganizations/new/", DISTRICT),
        "reorganization_detail": (f"/reorganizations/{w.reorganization.pk}/", DISTRICT),
        "reorganization_undo_confirm": (f"/reorganizations/{w.reorganization.pk}/undo/", DISTRICT),
        "reorganization_undo": (
            f"POST /reorganizations/{w.reorganization.pk}/undo/confirm/",
            DISTRICT,
            Post(
                data=lambda w, user: {},
                done=lambda w: Reorganization.objects.filter(
                    pk=w.reorganization.pk, undone_at__isnull=False
                ).exists(),
                then=_detail("reorganization_detail", lambda w: w.reorganization.pk),
            ),
        ),
        "second_factor_setup": ("/accounts/second-factor/setup/", ALL),
    }


# Public or Django's own: not part of the role matrix (tested elsewhere).
# The second factor's code page and recovery codes answer each user about their
# own account, by the state of the sign-in: tests/test_second_factor.py, per role.
OUTSIDE_THE_MATRIX = {
    "healthz",
    "login",
    "logout",
    "set_language",
    "second_factor",
    "second_factor_recovery_codes",
    # A phone's entries (roll, task, minutes) answer JSON: tests/test_offline_roll.py, per role.
    "meetings:roll_entry",
    "meetings:task_entry",
    "meetings:record_entry",
    # A redirect to the user's own unit, or a 404: tests/test_two_levels.py, per role.
    "places:mine",
}


def _names(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _names(pattern.url_patterns, ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield namespace + pattern.name


def test_every_url_is_in_the_matrix(world):
    names = set(_names(get_resolver().url_patterns)) - OUTSIDE_THE_MATRIX
    missing = names - set(_matrix(world))
    assert not missing, f"add these URLs to the permission matrix: {sorted(missing)}"


def test_every_action_says_what_it_does(world):
    for name, (url, _expected, *post) in _matrix(world).items():
        assert url.startswith("POST ") == bool(post), f"{name}: a POST needs a Post(), a page none"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_its_scope_allows(world, client, role):
    user = getattr(world, role)
    client.force_login(user)
    world.client = client
    failures = []
    for name, (url, expected, *post) in _matrix(world).items():
        if post:
            failure = _act(world, client, user, url.removeprefix("POST "), expected[role], post[0])
        else:
            failure = _see(client, url, expected[role])
        if failure:
            failures.append(f"{name} {url}: {failure}")
    assert not failures, "\n".join(failures)


def _see(client, url, expected) -> str | None:
    status = client.get(url).status_code
    if expected == 403 and status in (403, 404):
        return None  # read-only inside one's scope: refused, as 403 or as 404
    if status != expected:
        return f"{status}, expected {expected}"
    return None


def _act(world, client, user, url, expected, post: Post) -> str | None:
    """Run one action in a transaction rolled back afterwards; say what went wrong."""
    with transaction.atomic():
        try:
            if post.prepare:
                post.prepare(world, client, user)
            response = client.post(url, post.data(world, user))
            done = post.done(world)
            if expected != 200:
                if response.status_code not in ((403, 404) if expected == 403 else (404,)):
                    return f"{response.status_code}, expected {expected}"
                return "refused, but the database changed all the same" if done else None
            if not done:
                messages = [str(m) for m in getattr(response.wsgi_request, "_messages", [])]
                return f"{response.status_code}, but it did not do what it says (last message: {messages[-1:]})"
            if post.then is None and response.status_code != 200:
                return f"{response.status_code}, expected 200 and its result page"
            if post.then is not None:
                target = post.then(world)
                if response.status_code != 302 or response["Location"] != target:
                    where = response.get("Location", "")
                    return f"{response.status_code} {where}, expected a redirect to {target}"
            return None
        finally:
            transaction.set_rollback(True)


def test_anonymous_users_are_sent_to_the_login_page(world, client):
    for name, (url, *_rest) in _matrix(world).items():
        if url.startswith("POST "):
            response = client.post(url.removeprefix("POST "))
        else:
            response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith("/accounts/login/?next="), name
