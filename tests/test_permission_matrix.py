"""Every URL × every role, as pretix's permission tests do.

`MATRIX` names every page of the registry with the URL to request in the shared
world and the status each role gets. Outside one's scope a record is a 404;
anonymous users are sent to the login page. `test_every_url_is_in_the_matrix`
fails when someone adds a URL without adding it here.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

ROLES = ["admin", "district", "secretary", "branch_secretary", "outsider", "nobody"]

# Who gets what, as healthchecks does it: outside one's scope a record is a
# 404; inside it but read-only (the branch secretary, for registry changes) 403.
ALL = dict(admin=200, district=200, secretary=200, branch_secretary=200, outsider=200, nobody=200)
WITH_ROLE = dict(ALL, nobody=404)
# Our commune's records: district level and our commune secretary.
COMMUNE = dict(admin=200, district=200, secretary=200, branch_secretary=404, outsider=404, nobody=404)
# Changes to our commune's records that the branch secretary can see but not make.
COMMUNE_WRITE = dict(COMMUNE, branch_secretary=403)
# Our branch's records: our branch secretary too.
BRANCH = dict(COMMUNE, branch_secretary=200)
# District decisions (undoing a dissolution).
DISTRICT_WRITE = dict(COMMUNE_WRITE, secretary=403)
# Creating registry records (each in one's own commune).
EDITORS = dict(admin=200, district=200, secretary=200, branch_secretary=403, outsider=200, nobody=404)
# Importing into the registry: district level and commune secretaries.
IMPORTERS = dict(EDITORS, branch_secretary=404)
# District level only (the read log).
DISTRICT = dict(admin=200, district=200, secretary=404, branch_secretary=404, outsider=404, nobody=404)



def _meeting(w):
    import datetime

    from meetings.models import Meeting

    return Meeting.objects.create(branch=w.branch, date=datetime.date(2024, 5, 10), kind="regular")


def _matrix(w) -> dict[str, tuple[str, dict]]:
    meeting = getattr(w, "_meeting", None) or _meeting(w)
    w._meeting = meeting
    if not hasattr(w, "_candidate"):
        from tests.growth_helpers import make_candidate

        w._candidate = make_candidate(w, name="Hà Thị Mai")
    candidate = w._candidate
    probationer = w.member
    if not hasattr(w, "_transfer"):
        import datetime

        from members.services import branch_dissolve, transfer_issue_letter, transfer_request

        w._transfer = transfer_request(
            on=datetime.date(2019, 4, 1), by=w.secretary, member=w.member, to_branch=w.branch2
        )
        transfer_issue_letter(
            transfer=w._transfer, by=w.secretary, on=datetime.date(2019, 4, 2), signer_title="Bí thư"
        )
        w._batch = branch_dissolve(
            branch=w.office, decision="15-QĐ/ĐU", on=datetime.date(2019, 4, 1), by=w.secretary
        )
    transfer, batch = w._transfer, w._batch
    return {
        "dashboard": ("/", ALL),
        "chart": ("/charts/age.svg", WITH_ROLE),
        "branches:commune": (f"/communes/{w.commune.code}/", COMMUNE),
        "branches:branch": (f"/branches/{w.branch.pk}/", BRANCH),
        "branches:branch_edit": (f"/branches/{w.branch.pk}/edit/", COMMUNE_WRITE),
        "branches:branch_new": ("/branches/new/", EDITORS),
        "branches:village": (f"/villages/{w.village.pk}/", BRANCH),
        "branches:village_edit": (f"/villages/{w.village.pk}/edit/", COMMUNE_WRITE),
        "branches:village_new": ("/villages/new/", EDITORS),
        "members:list": ("/members/", ALL),
        "members:new": ("/members/new/", EDITORS),
        "members:detail": (f"/members/{w.member.pk}/", BRANCH),
        "members:edit": (f"/members/{w.member.pk}/edit/", COMMUNE_WRITE),
        "members:export_csv": ("/members/export.csv", WITH_ROLE),
        "members:export_xlsx": ("/members/export.xlsx", WITH_ROLE),
        "members:import": ("/import/", IMPORTERS),
        "members:import_confirm": ("POST /import/confirm/", IMPORTERS),
        "meetings:branch": (f"/branches/{w.branch.pk}/meetings/", BRANCH),
        "meetings:new": (f"/branches/{w.branch.pk}/meetings/new/", BRANCH),
        "meetings:reports": ("/meetings/reports/", ALL),
        "meetings:detail": (f"/meetings/{meeting.pk}/", BRANCH),
        "meetings:roll": (f"/meetings/{meeting.pk}/attendance/", BRANCH),
        "meetings:minutes": (f"/meetings/{meeting.pk}/minutes/", BRANCH),
        "meetings:sheet": (f"/meetings/{meeting.pk}/sheet/", BRANCH),
        "meetings:edit": (f"POST /meetings/{meeting.pk}/edit/", BRANCH),
        "meetings:hold": (f"POST /meetings/{meeting.pk}/hold/", BRANCH),
        "meetings:adopt": (f"POST /meetings/{meeting.pk}/adopt/", BRANCH),
        "meetings:task_add": (f"POST /meetings/{meeting.pk}/tasks/", BRANCH),
        "meetings:review": (f"POST /meetings/{meeting.pk}/review/", BRANCH),
        "meetings:addendum_add": (f"POST /meetings/{meeting.pk}/addenda/", BRANCH),
        "growth:candidate_list": ("/candidates/", ALL),
        "growth:candidate_create": ("/candidates/new/", EDITORS),
        "growth:candidate_detail": (f"/candidates/{candidate.pk}/", BRANCH),
        "growth:candidate_step": (f"POST /candidates/{candidate.pk}/step/", COMMUNE_WRITE),
        "growth:candidate_withdraw": (f"POST /candidates/{candidate.pk}/withdraw/", COMMUNE_WRITE),
        "growth:probation_list": ("/probations/", ALL),
        "growth:member_recognize": (f"POST /probations/{probationer.pk}/recognize/", COMMUNE_WRITE),
        "growth:rating_report": ("/ratings/", ALL),
        "growth:rating_form": (f"/ratings/{w.branch.pk}/2024/", BRANCH),
        "growth:badge_list": ("/badges/", ALL),
        "transfers:list": ("/transfers/", ALL),
        "transfers:incoming": ("/transfers/incoming/", EDITORS),
        "transfers:detail": (f"/transfers/{transfer.pk}/", BRANCH),
        "transfers:letter": (f"/transfers/{transfer.pk}/letter/", BRANCH),
        "transfers:issue_letter": (f"POST /transfers/{transfer.pk}/issue-letter/", COMMUNE_WRITE),
        "transfers:receive": (f"POST /transfers/{transfer.pk}/receive/", COMMUNE_WRITE),
        "transfers:cancel": (f"POST /transfers/{transfer.pk}/cancel/", COMMUNE_WRITE),
        "transfers:refuse": (f"POST /transfers/{transfer.pk}/refuse/", COMMUNE_WRITE),
        "transfers:start": (f"/members/{w.cadre.pk}/transfer/", COMMUNE_WRITE),
        "transfers:dissolution_choose": ("/dissolutions/", EDITORS),
        "transfers:dissolution_plan": (f"/dissolutions/branch/{w.branch2.pk}/", COMMUNE_WRITE),
        "transfers:dissolution_confirm": (f"POST /dissolutions/branch/{w.branch2.pk}/confirm/", COMMUNE_WRITE),
        "transfers:dissolution_detail": (f"/dissolutions/{batch.pk}/", COMMUNE),
        "transfers:dissolution_undo": (f"POST /dissolutions/{batch.pk}/undo/", DISTRICT_WRITE),
        "transfers:policy_report": ("/reports/policy/", EDITORS),
        "read_log": ("/read-log/", DISTRICT),
        "second_factor_setup": ("/accounts/second-factor/setup/", ALL),
    }


# Public or Django's own: not part of the role matrix (tested elsewhere).
# The second factor's code page and recovery codes answer each user about their
# own account, by the state of the sign-in: tests/test_second_factor.py, per role.
OUTSIDE_THE_MATRIX = {"healthz", "login", "logout", "set_language", "second_factor",
                      "second_factor_recovery_codes"}


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


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_its_scope_allows(world, client, role):
    user = getattr(world, role)
    client.force_login(user)
    failures = []
    for name, (url, expected) in _matrix(world).items():
        status = _request(client, url)
        if expected[role] == 404 and status != 404:
            failures.append(f"{name} {url}: {status}, expected 404")
        elif expected[role] == 403 and status not in (403, 404):
            # Read-only inside one's scope: refused, as 403 or as 404.
            failures.append(f"{name} {url}: {status}, expected {expected[role]}")
        elif expected[role] == 200 and status not in ALLOWED[url.startswith("POST ")]:
            failures.append(f"{name} {url}: {status}, expected {ALLOWED[url.startswith('POST ')]}")
    assert not failures, "\n".join(failures)


# A page the role may see answers 200; an action it may take (an empty POST
# here) answers with the page again (200, form errors), a redirect, or 400 —
# never 403, 404 or a server error.
ALLOWED = {False: (200,), True: (200, 302, 400)}


def _request(client, url):
    if url.startswith("POST "):
        return client.post(url.removeprefix("POST ")).status_code
    return client.get(url).status_code


def test_anonymous_users_are_sent_to_the_login_page(world, client):
    for name, (url, _expected) in _matrix(world).items():
        if url.startswith("POST "):
            response = client.post(url.removeprefix("POST "))
        else:
            response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith("/accounts/login/?next="), name
