"""The read log (issue 16, item 6): opening a member's page and exporting members
are recorded (who, when, which member or which filter, how many rows); district
officers review it at /read-log/ and in the admin; nobody changes it."""

import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from pacnam.models import AppendOnlyError, ReadAction, ReadLogEntry
from tests.conftest import make_member


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("role", ["district", "secretary", "branch_secretary", "admin"])
def test_opening_a_members_page_is_recorded(world, login, role):
    user = getattr(world, role)
    assert login(user).get(f"/members/{world.member.pk}/").status_code == 200
    entry = ReadLogEntry.objects.get()
    assert (entry.actor, entry.actor_name, entry.action) == (
        user,
        user.username,
        ReadAction.MEMBER_VIEW,
    )
    assert (entry.object_type, entry.object_id) == ("members.member", str(world.member.pk))
    assert entry.object_repr == "Hoàng Văn Mạnh" and entry.where == f"/members/{world.member.pk}/"
    assert entry.at is not None and entry.rows is None


def test_a_page_one_may_not_see_is_not_recorded_as_read(world, login):
    assert login(world.outsider).get(f"/members/{world.member.pk}/").status_code == 404
    assert not ReadLogEntry.objects.exists()


def test_the_members_page_has_a_fixed_number_of_queries(world, login, django_assert_num_queries):
    client = login(world.district)
    client.get(f"/members/{world.member.pk}/")
    # session, user, role, the district's communes (whether it holds every one and
    # which it may change, Scope._officer_communes), the member, the read log's
    # INSERT, the audit entries, the timeline (memberships, transfers, status
    # history), the sliding session's save (savepoint, update, release): the same
    # with more history.
    with django_assert_num_queries(13) as few:
        client.get(f"/members/{world.member.pk}/")
    member = world.member
    for n in range(5):
        member.position = f"chức vụ {n}"
        member.save()
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(f"/members/{world.member.pk}/")
    assert sum("pacnam_readlogentry" in q["sql"] for q in few.captured_queries) == 1


def test_a_web_export_is_recorded_with_its_filter_and_rows(world, login):
    client = login(world.secretary)
    make_member(world.branch2, name="Nông Văn Hai")
    response = client.get("/members/export.csv", {"commune": world.commune.code, "q": "nong"})
    assert len(content(response).decode("utf-8-sig").splitlines()) == 2
    entry = ReadLogEntry.objects.get()
    assert (entry.actor, entry.action, entry.rows) == (world.secretary, ReadAction.MEMBER_EXPORT, 1)
    assert entry.query == {"commune": world.commune.code, "q": "nong"}
    assert entry.where.startswith("/members/export.csv?")
    client.get("/members/export.xlsx")
    xlsx = ReadLogEntry.objects.order_by("-id").first()
    assert (xlsx.rows, xlsx.query) == (3, {})  # the commune's three members, no filter


def test_a_download_stopped_half_way_is_recorded_as_stopped(world):
    """The server closes the response's iterator when the browser goes away: the
    entry is written then, with the rows handed out so far."""
    from pacnam.io.csv_writer import csv_chunks
    from pacnam.security.readlog import log_member_export

    rows = log_member_export(
        iter([["header"], ["a"], ["b"], ["c"]]),
        user=world.district,
        query={"q": "x"},
        where="/members/export.csv?q=x",
    )
    chunks = csv_chunks(rows, rows_per_chunk=1)
    assert [next(chunks), next(chunks)] == ["header\r\n", "a\r\n"]
    assert not ReadLogEntry.objects.exists()
    chunks.close()
    entry = ReadLogEntry.objects.get()
    assert (entry.actor, entry.rows) == (world.district, 1)
    assert entry.query == {"q": "x", "stopped": True}


def test_a_command_export_of_people_is_recorded_and_others_are_not(world):
    call_command(
        "registry_export", "members", "--commune", world.commune.code, stdout=io.StringIO()
    )
    entry = ReadLogEntry.objects.get()
    assert entry.actor is None and entry.actor_name.endswith("(manage.py)")
    assert (entry.rows, entry.query) == (2, {"commune": world.commune.code})
    assert entry.where == "manage.py registry_export members"
    call_command("registry_export", "communes", stdout=io.StringIO())
    assert ReadLogEntry.objects.count() == 1


# --- The page ---


@pytest.mark.parametrize(
    "role, status",
    [
        ("district", 200),
        ("admin", 200),
        ("secretary", 404),
        ("branch_secretary", 404),
        ("outsider", 404),
        ("nobody", 404),
    ],
)
def test_only_district_officers_and_administrators_review_the_read_log(world, login, role, status):
    assert login(getattr(world, role)).get("/read-log/").status_code == status


def test_anonymous_users_are_sent_to_the_login_page(world, client):
    response = client.get("/read-log/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_page_lists_who_read_what(world, login):
    login(world.secretary).get(f"/members/{world.member.pk}/")
    content(login(world.branch_secretary).get("/members/export.csv?q=manh"))
    page = login(world.district).get("/read-log/").content.decode()
    assert "caotan" in page and "Hoàng Văn Mạnh" in page and f"/members/{world.member.pk}/" in page
    assert "coclai" in page and "q=manh" in page
    only = login(world.district).get("/read-log/", {"user": "coclai"}).content.decode()
    assert "coclai" in only and "caotan" not in only
    by_member = (
        login(world.district).get("/read-log/", {"member": world.member.pk}).content.decode()
    )
    assert "caotan" in by_member and "coclai" not in by_member


@pytest.mark.parametrize(
    "role, queries",
    [
        # session, user, [the user's and groups' permissions, the role], the count, the
        # page of entries, the sliding session's save (savepoint, update, release).
        ("district", 10),
        # A superuser has every permission without a query; the menu asks their scope (the role).
        ("admin", 8),
    ],
)
def test_the_page_has_a_fixed_number_of_queries(
    world, login, django_assert_num_queries, role, queries
):
    client = login(getattr(world, role))
    client.get(f"/members/{world.member.pk}/")
    client.get("/read-log/")
    with django_assert_num_queries(queries):
        client.get("/read-log/")
    for _ in range(30):
        client.get(f"/members/{world.member.pk}/")
    client = login(getattr(world, role))
    client.get("/read-log/")
    with django_assert_num_queries(queries):
        assert client.get("/read-log/").status_code == 200


def test_the_menu_links_the_read_log_for_district_officers_only(world, login):
    assert reverse("read_log").encode() in login(world.district).get("/").content
    assert reverse("read_log").encode() not in login(world.secretary).get("/").content


# --- Append-only ---


def test_nobody_changes_or_deletes_the_read_log(world, login):
    login(world.district).get(f"/members/{world.member.pk}/")
    entry = ReadLogEntry.objects.get()
    entry.actor_name = "someone else"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        ReadLogEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        ReadLogEntry.objects.update(actor_name="x")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE pacnam_readlogentry SET actor_name = 'x' WHERE id = %s", [entry.pk])
    assert ReadLogEntry.objects.get().actor_name == "district"


def test_the_admin_shows_the_read_log_read_only(world, login, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    client = login(world.admin)
    client.get(f"/members/{world.member.pk}/")
    entry = ReadLogEntry.objects.get()
    assert client.get("/admin/pacnam/readlogentry/").status_code == 200
    page = client.get(f"/admin/pacnam/readlogentry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.get("/admin/pacnam/readlogentry/add/").status_code == 403
    assert (
        client.post(f"/admin/pacnam/readlogentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    # A commune secretary with staff rights sees nothing of it.
    world.secretary.is_staff = True
    world.secretary.save()
    assert login(world.secretary).get("/admin/pacnam/readlogentry/").status_code == 403


def test_an_export_to_a_file_is_private(world, tmp_path):
    import os
    import stat

    old = tmp_path / "members.csv"
    old.write_text("old")
    old.chmod(0o644)
    previous = os.umask(0)
    try:
        for output, fmt in ((old, "csv"), (tmp_path / "members.xlsx", "xlsx")):
            call_command(
                "registry_export",
                "members",
                "--format",
                fmt,
                "-o",
                str(output),
                stdout=io.StringIO(),
            )
            assert stat.S_IMODE(output.stat().st_mode) == 0o600
    finally:
        os.umask(previous)
    assert ReadLogEntry.objects.count() == 2
