"""The pages the benchmark measures, for whom, and the floor of each: the best
single hand-written SQL query for the same rows.

Every page is measured as each role that uses it: the officer who
sees the whole province, the secretary of the target commune and the
secretary of the target branch; the Django admin's pages as an administrator.
The floor is measured once, for the officer's rows.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import urllib.parse
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Exists, OuterRef

from branches.models import Branch, BranchKind, Province, Role, RoleKind
from meetings.models import Meeting
from members.models import Member, MemberStatus
from pacnam.security.second_factor import STATE_KEY, VERIFIED

# The roles, as results.json's `role` field names them.
OFFICER = "district officer"
COMMUNE_SECRETARY = "commune secretary"
BRANCH_SECRETARY = "branch secretary"
ADMINISTRATOR = "administrator"
ROLES = (OFFICER, COMMUNE_SECRETARY, BRANCH_SECRETARY)
# The search that matches the most names ("Văn", as in half the men's names).
COMMON_NAME_PART = "van"


@dataclass
class Page:
    name: str
    url: str
    floor_sql: str
    floor_params: list = field(default_factory=list)
    streaming: bool = False
    # Who uses the page: it is measured as each of them.
    roles: tuple[str, ...] = ROLES


@dataclass
class Targets:
    commune_id: int
    commune_code: str
    branch_id: int
    member_id: int
    search: str
    meeting_id: int | None = None


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _user(username: str, *, superuser: bool = False, **role):
    """A bench user (created once per database) with one open role."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"is_superuser": superuser, "is_staff": superuser}
    )
    if created:
        user.set_unusable_password()
        user.save()
    if role:
        # Its unit is the targets' of this database (they move as rows are added).
        Role.objects.update_or_create(user=user, valid_to=None, defaults=role)
    return user


def officer():
    """The officer the pages are measured as: the synthetic registry is one
    province's, and its officer sees all of it."""
    province = Province.objects.order_by("pk").first()
    return _user("bench-district", kind=RoleKind.PROVINCE_OFFICER, province=province)


def user_for(role: str, t: Targets):
    if role == OFFICER:
        return officer()
    if role == COMMUNE_SECRETARY:
        return _user("bench-commune", kind=RoleKind.COMMUNE_SECRETARY, commune_id=t.commune_id)
    if role == BRANCH_SECRETARY:
        return _user("bench-branch", kind=RoleKind.BRANCH_SECRETARY, branch_id=t.branch_id)
    return _user("bench-admin", superuser=True)


def signed_in(client, user) -> None:
    """Logged in, and past the second factor as after a real sign-in (officers and
    administrators need one when DEBUG is off)."""
    client.force_login(user)
    session = client.session
    session[STATE_KEY] = VERIFIED
    session.save()


def pick_targets() -> Targets:
    """Typical records, chosen the same way at every size: the middle commune, its
    first village branch, that branch's first member by name, and that member's
    name without accents as the search (a person typing a full name)."""
    branches = Branch.objects.filter(kind=BranchKind.VILLAGE, dissolved_on__isnull=True).order_by(
        "pk"
    )
    count = branches.count()
    middle = branches[count // 2]
    # The first from the middle on where the common name part finds someone: in a
    # branch secretary's list an empty page costs a query less, and the table
    # would show a difference in queries that is the data's, not the size's.
    common = Member.objects.filter(
        branch=OuterRef("pk"), folded_name__contains=COMMON_NAME_PART
    ).exclude(status=MemberStatus.LEFT)
    branch = branches.filter(pk__gte=middle.pk).filter(Exists(common)).select_related(
        "commune"
    ).first() or Branch.objects.select_related("commune").get(pk=middle.pk)
    member = (
        Member.objects.filter(branch=branch)
        .exclude(status=MemberStatus.LEFT)
        .order_by("folded_name", "pk")
        .first()
    )
    targets = Targets(
        commune_id=branch.commune_id,
        commune_code=branch.commune.code,
        branch_id=branch.pk,
        member_id=member.pk,
        search=member.folded_name,
    )
    with contextlib.suppress(ImportError):
        meeting = Meeting.objects.filter(branch=branch).order_by("-date", "-pk").first()
        targets.meeting_id = meeting.pk if meeting else None
    return targets


def _has_url(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        return False
    return True


# The member list's rows, the floor of the list and search pages.
MEMBER_LIST_SQL = """
    SELECT m.id, m.full_name, m.birth_date, m.status, b.name, c.name, v.name
    FROM members_member m
    JOIN branches_branch b ON b.id = m.branch_id
    JOIN branches_commune c ON c.id = b.commune_id
    JOIN branches_village v ON v.id = m.residence_village_id
    WHERE {where}
    ORDER BY m.folded_name, m.id
    LIMIT 50
"""


def _name_match() -> str:
    """Names containing a text: through the distinct names' trigram index on
    PostgreSQL, as the page's search does."""
    if connection.vendor == "postgresql":
        return "m.folded_name IN (SELECT folded_name FROM members_member_name WHERE folded_name LIKE %s)"
    return "m.folded_name LIKE %s"


def pages(t: Targets, today: datetime.date) -> list[Page]:
    """Each page and its floor: one hand-written query returning the rows the page shows."""
    result = [
        Page(
            "dashboard",
            "/",
            # The figures of the tiles, in one statement.
            """
            SELECT count(*) FILTER (WHERE status <> 'left'),
                   count(*) FILTER (WHERE status <> 'left' AND full_on IS NOT NULL),
                   count(*) FILTER (WHERE status <> 'left' AND full_on IS NULL),
                   count(*) FILTER (WHERE status <> 'left' AND is_commune_cadre)
            FROM members_member
            """,
        ),
        Page(
            "commune page",
            f"/communes/{t.commune_code}/",
            """
            SELECT b.id, b.name, b.kind, b.dissolved_on, v.name,
                   count(m.id) FILTER (WHERE m.status <> 'left'),
                   count(m.id) FILTER (WHERE m.status <> 'left' AND m.is_commune_cadre)
            FROM branches_branch b
            LEFT JOIN branches_village v ON v.id = b.village_id
            LEFT JOIN members_member m ON m.branch_id = b.id
            WHERE b.commune_id = %s
            GROUP BY b.id, v.name
            ORDER BY b.dissolved_on, b.kind, b.name
            """,
            [t.commune_id],
            roles=(OFFICER, COMMUNE_SECRETARY),
        ),
        Page(
            "branch roster",
            f"/branches/{t.branch_id}/",
            """
            SELECT s.id, s.kind, s.started_on, m.id, m.full_name, m.full_on, m.is_commune_cadre,
                   m.position, m.birth_date
            FROM members_membership s JOIN members_member m ON m.id = s.member_id
            WHERE s.branch_id = %s AND s.started_on <= %s AND (s.ended_on IS NULL OR s.ended_on > %s)
            ORDER BY s.kind, m.folded_name
            """,
            [t.branch_id, today, today],
        ),
        Page(
            "member page",
            f"/members/{t.member_id}/",
            """
            SELECT m.*, b.name, c.name, v.name, s.started_on, s.ended_on, s.end_reason, sb.name
            FROM members_member m
            JOIN branches_branch b ON b.id = m.branch_id
            JOIN branches_commune c ON c.id = b.commune_id
            JOIN branches_village v ON v.id = m.residence_village_id
            JOIN members_membership s ON s.member_id = m.id
            JOIN branches_branch sb ON sb.id = s.branch_id
            WHERE m.id = %s
            ORDER BY s.started_on, s.id
            """,
            [t.member_id],
        ),
        Page(
            "member search",
            "/members/?" + urllib.parse.urlencode({"q": t.search}),
            MEMBER_LIST_SQL.format(where=_name_match() + " AND m.status <> 'left'"),
            [f"%{t.search}%"],
        ),
        # Beyond the list: the two member lists that match the most rows,
        # where the count, not the page, was the cost (pacnam.lib.pagination).
        Page(
            "member list, unfiltered",
            "/members/",
            MEMBER_LIST_SQL.format(where="m.status <> 'left'"),
        ),
        Page(
            "member search, common name part",
            f"/members/?q={COMMON_NAME_PART}",
            MEMBER_LIST_SQL.format(where=_name_match() + " AND m.status <> 'left'"),
            [f"%{COMMON_NAME_PART}%"],
        ),
    ]
    if t.meeting_id is not None:
        result.append(
            Page(
                "meeting page",
                f"/meetings/{t.meeting_id}/",
                """
                SELECT a.id, a.presence, a.standing, a.reason, m.full_name
                FROM meetings_attendance a JOIN members_member m ON m.id = a.member_id
                WHERE a.meeting_id = %s
                ORDER BY m.folded_name
                """,
                [t.meeting_id],
            )
        )
    if _has_url("/members/export.csv"):
        result.append(
            Page(
                "commune members export",
                f"/members/export.csv?commune={t.commune_code}",
                """
                SELECT m.*, b.code FROM members_member m
                JOIN branches_branch b ON b.id = m.branch_id
                WHERE b.commune_id = %s AND m.status <> 'left'
                ORDER BY m.folded_name, m.id
                """,
                [t.commune_id],
                streaming=True,
                roles=(OFFICER, COMMUNE_SECRETARY),
            )
        )
    return result + admin_pages(t)


def admin_pages(t: Targets) -> list[Page]:
    """The Django admin's pages that administrators use every day, at the registry's size."""
    return [
        Page(
            "admin: member list",
            "/admin/members/member/",
            MEMBER_LIST_SQL.format(where="true"),
            roles=(ADMINISTRATOR,),
        ),
        Page(
            "admin: member search",
            "/admin/members/member/?" + urllib.parse.urlencode({"q": t.search}),
            MEMBER_LIST_SQL.format(where=_name_match()),
            [f"%{t.search}%"],
            roles=(ADMINISTRATOR,),
        ),
        Page(
            "admin: member change form",
            f"/admin/members/member/{t.member_id}/change/",
            "SELECT * FROM members_membership WHERE member_id = %s ORDER BY started_on",
            [t.member_id],
            roles=(ADMINISTRATOR,),
        ),
        Page(
            "admin: branch change form",
            f"/admin/branches/branch/{t.branch_id}/change/",
            """
            SELECT s.*, m.full_name FROM members_membership s JOIN members_member m ON m.id = s.member_id
            WHERE s.branch_id = %s AND s.ended_on IS NULL ORDER BY m.folded_name
            """,
            [t.branch_id],
            roles=(ADMINISTRATOR,),
        ),
    ]
