"""Transfers: each step, each permission, the deadlines and the races."""

import datetime
import re
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test import override_settings
from django.utils import timezone, translation

from branches.access import scope_for
from members.models import Member, Membership, Transfer
from members.selectors.members import member_timeline
from members.selectors.transfers import overdue_transfers, transfers_in_progress
from members.services.transfers import (
    transfer_cancel,
    transfer_issue_letter,
    transfer_receive,
    transfer_refuse,
    transfer_request,
)
from pacnam.lib.dates import add_working_days
from pacnam.lib.errors import DomainError, NotAllowed
from tests.conftest import make_branch, make_member, make_village, working_days_between

D = datetime.date


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English; the Vietnamese catalogue is checked apart."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def official_branch(member):
    return Membership.objects.get(member=member, kind="official", ended_on__isnull=True).branch


# --- Working days --------------------------------------------------------------


@override_settings(HOLIDAYS=["2019-04-29", "2019-04-30", "2019-05-01"])
def test_working_days_skip_weekends_and_holidays():
    # Friday 26/04/2019 + 1 working day: the weekend and three holidays are skipped.
    assert add_working_days(D(2019, 4, 26), 1) == D(2019, 5, 2)
    assert working_days_between(D(2019, 4, 26), D(2019, 5, 2)) == 1
    # A plain weekend: Friday + 1 is Monday.
    assert add_working_days(D(2019, 3, 1), 1) == D(2019, 3, 4)
    assert working_days_between(D(2019, 3, 1), D(2019, 3, 3)) == 0


@override_settings(HOLIDAYS=[])
def test_thirty_working_days_are_six_weeks_without_holidays():
    assert add_working_days(D(2019, 3, 4), 30) == D(2019, 4, 15)


@override_settings(HOLIDAYS=[], TRANSFER_START_DEADLINE_WORKING_DAYS=60)
def test_an_official_transfer_started_after_sixty_working_days_is_flagged_not_refused(world):
    # Moved on Monday 04/03/2019: the 60th working day after it is Monday 27/05.
    on_time = transfer_request(
        on=D(2019, 5, 27),
        moved_on=D(2019, 3, 4),
        by=world.secretary,
        member=world.member,
        to_branch=world.branch2,
    )
    assert on_time.start_deadline == D(2019, 5, 27) and not on_time.started_late
    late = transfer_request(
        on=D(2019, 5, 28),
        moved_on=D(2019, 3, 4),
        by=world.secretary,
        member=make_member(world.branch, name="Chậm Trễ"),
        to_branch=world.branch2,
    )
    assert late.started_late and late.status == "requested"
    # A request without the date of the move, or a temporary transfer, has no start deadline.
    unknown = transfer_request(
        on=D(2019, 5, 28),
        by=world.secretary,
        member=make_member(world.branch, name="Không Rõ"),
        to_branch=world.branch2,
    )
    assert unknown.start_deadline is None and not unknown.started_late
    temporary = transfer_request(
        kind="temporary",
        on=D(2019, 5, 28),
        moved_on=D(2019, 1, 2),
        planned_end=D(2019, 9, 1),
        by=world.secretary,
        member=make_member(world.branch, name="Tạm Thời"),
        to_branch=world.branch2,
    )
    assert temporary.moved_on is None and not temporary.started_late


def test_only_an_official_transfer_has_a_date_of_move(world):
    from django.db import IntegrityError

    transfer = transfer_request(
        kind="temporary",
        on=D(2019, 5, 28),
        planned_end=D(2019, 9, 1),
        by=world.secretary,
        member=world.member,
        to_branch=world.branch2,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.filter(pk=transfer.pk).update(moved_on=D(2019, 5, 1))


@override_settings(HOLIDAYS=["2019-04-15"], TRANSFER_LETTER_DEADLINE_WORKING_DAYS=30)
def test_a_letter_is_overdue_only_after_thirty_working_days(world):
    transfer = transfer_request(
        on=D(2019, 3, 1), by=world.secretary, member=world.member, to_branch=world.branch2
    )
    transfer_issue_letter(transfer=transfer, by=world.secretary, on=D(2019, 3, 4))
    transfer.refresh_from_db()
    # 30 working days after Monday 04/03 is 15/04, a holiday here, so 16/04.
    assert transfer.letter_deadline == D(2019, 4, 16)
    scope = scope_for(world.secretary)
    assert list(overdue_transfers(scope, today=D(2019, 4, 16))) == []
    assert list(overdue_transfers(scope, today=D(2019, 4, 17))) == [transfer]
    assert transfer.is_overdue(D(2019, 4, 17))
    # The outsider's commune is not concerned.
    assert list(overdue_transfers(scope_for(world.outsider), today=D(2019, 4, 17))) == []
    assert list(overdue_transfers(scope_for(world.district), today=D(2019, 4, 17))) == [transfer]


# --- Inside one commune --------------------------------------------------------


def test_transfer_inside_a_commune_step_by_step(world):
    transfer = transfer_request(
        on=D(2019, 4, 1),
        by=world.secretary,
        member=world.member,
        to_branch=world.branch2,
        reason="moved house",
    )
    assert transfer.scope == "within_commune"
    assert transfer.status == "requested" and transfer.requested_by == world.secretary
    transfer_issue_letter(transfer=transfer, by=world.secretary, on=D(2019, 5, 2))
    transfer.refresh_from_db()
    assert transfer.status == "letter_issued"
    assert (transfer.letter_year, transfer.letter_number, transfer.letter_issued_by) == (
        2019,
        1,
        world.secretary,
    )
    assert official_branch(world.member) == world.branch  # nothing moves before receipt
    transfer_receive(transfer=transfer, by=world.secretary, on=D(2019, 5, 10))
    transfer.refresh_from_db()
    assert transfer.status == "received" and transfer.received_by == world.secretary
    assert official_branch(world.member) == world.branch2
    roster_before = Membership.objects.roster(world.branch, D(2019, 5, 9)).values_list(
        "member_id", flat=True
    )
    assert world.member.pk in roster_before
    assert world.member.pk not in Membership.objects.roster(
        world.branch, D(2019, 5, 10)
    ).values_list("member_id", flat=True)
    texts = [e.text for e in member_timeline(world.member)]
    assert "transfer requested" in texts and "received by the new branch" in texts
    assert any("1/GGT" in t for t in texts)


def test_letter_numbers_run_per_commune_and_year(world):
    m2 = make_member(world.branch, name="Nông Văn Hai")
    m3 = make_member(world.branch, name="Nông Văn Ba")
    numbers = []
    for member, day in [(world.member, D(2019, 5, 2)), (m2, D(2019, 6, 3)), (m3, D(2020, 1, 6))]:
        t = transfer_request(
            on=D(2019, 3, 1), by=world.secretary, member=member, to_branch=world.branch2
        )
        transfer_issue_letter(transfer=t, by=world.secretary, on=day)
        t.refresh_from_db()
        numbers.append((t.letter_year, t.letter_number))
    assert numbers == [(2019, 1), (2019, 2), (2020, 1)]


def test_branch_secretary_and_outsider_may_not_transfer(world):
    for user in (world.branch_secretary, world.outsider, world.nobody):
        with pytest.raises(NotAllowed):
            transfer_request(
                on=D(2019, 4, 1), by=user, member=world.member, to_branch=world.branch2
            )
    assert not Transfer.objects.exists()


def test_outsider_may_not_take_any_step(world):
    transfer = transfer_request(
        on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.branch2
    )
    with pytest.raises(NotAllowed):
        transfer_issue_letter(transfer=transfer, by=world.outsider)
    with pytest.raises(NotAllowed):
        transfer_refuse(transfer=transfer, by=world.outsider, reason="no")
    with pytest.raises(NotAllowed):
        transfer_cancel(transfer=transfer, by=world.branch_secretary, reason="no")
    transfer_issue_letter(transfer=transfer, by=world.secretary, on=D(2019, 5, 2))
    with pytest.raises(NotAllowed):
        transfer_receive(transfer=transfer, by=world.outsider)
    transfer.refresh_from_db()
    assert transfer.status == "letter_issued"


def test_member_under_inspection_is_not_transferred(world):
    Member.objects.filter(pk=world.member.pk).update(under_inspection=True)
    world.member.refresh_from_db()
    with pytest.raises(DomainError, match="inspection"):
        transfer_request(
            on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.branch2
        )


def test_a_stale_page_cannot_move_a_member_someone_else_moved(world):
    from members.services.members import membership_move

    membership_move(member=world.member, to_branch=world.branch2, on=D(2019, 3, 1))
    with pytest.raises(DomainError, match="just been moved"):  # world.member still says Cốc Lải
        transfer_request(
            on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.office
        )
    assert not Transfer.objects.exists()


def test_one_transfer_in_progress_per_member(world):
    transfer_request(
        on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.branch2
    )
    with pytest.raises(DomainError, match="already has a transfer"):
        transfer_request(
            on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.office
        )


def test_a_dissolved_branch_receives_no_one(world):
    closed = make_branch(world.commune, dissolved_on=D(2019, 4, 1), dissolution_decision="12-QĐ/ĐU")
    with pytest.raises(DomainError, match="dissolved"):
        transfer_request(
            on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=closed
        )


def test_cancel_and_refuse_need_a_reason_and_end_the_transfer(world):
    t = transfer_request(
        on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.branch2
    )
    with pytest.raises(DomainError):
        transfer_cancel(transfer=t, by=world.secretary, reason=" ")
    transfer_cancel(transfer=t, by=world.secretary, reason="changed his mind")
    t.refresh_from_db()
    assert t.status == "cancelled" and t.closed_by == world.secretary
    t2 = transfer_request(
        on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.branch2
    )
    transfer_refuse(transfer=t2, by=world.secretary, reason="no housing")
    t2.refresh_from_db()
    assert t2.status == "refused"
    with pytest.raises(DomainError, match="cannot be issued now"):
        transfer_issue_letter(transfer=t2, by=world.secretary)
    assert official_branch(world.member) == world.branch


# --- Between communes, out of and into the district -----------------------------


def test_between_communes_the_district_issues_and_the_receiver_records(world):
    t = transfer_request(
        on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.other_branch
    )
    assert t.scope == "between_communes"
    with pytest.raises(NotAllowed):  # the commune may not issue a letter leaving it
        transfer_issue_letter(transfer=t, by=world.secretary)
    transfer_issue_letter(transfer=t, by=world.district, on=D(2019, 5, 2))
    with pytest.raises(NotAllowed):  # the sending commune does not record receipt
        transfer_receive(transfer=t, by=world.secretary)
    transfer_receive(transfer=t, by=world.outsider, on=D(2019, 5, 6))
    assert official_branch(world.member) == world.other_branch


def test_out_of_the_district_completes_with_the_letter(world):
    t = transfer_request(
        on=D(2019, 4, 1),
        by=world.secretary,
        member=world.member,
        other_organisation="Đảng bộ huyện Ba Bể",
        other_address="Chợ Rã, Bắc Kạn",
    )
    assert t.scope == "out_of_district" and t.to_branch is None
    transfer_issue_letter(transfer=t, by=world.district, on=D(2019, 5, 2))
    world.member.refresh_from_db()
    assert world.member.status == "left" and world.member.left_reason == "transferred_out"
    assert world.member.left_on == D(2019, 5, 2)
    assert not Transfer.objects.in_progress().exists()


def _transfer_into_the_district(world):
    """Hà Thị Lan, coming from another province's commune to Nà Khâu's branch."""
    return transfer_request(
        on=D(2019, 4, 1),
        by=world.secretary,
        to_branch=world.branch2,
        other_organisation="Đảng bộ xã Cao Kỳ, Chợ Mới",
        incoming=dict(
            citizen_id="006080001234",
            full_name="Hà Thị Lan",
            gender="female",
            birth_date=D(1990, 2, 3),
            ethnicity="Tày",
            residence_village=world.village2,
            admitted_on=D(2015, 3, 3),
            full_on=D(2016, 3, 3),
        ),
    )


def test_into_the_district_creates_the_member_on_receipt(world):
    t = _transfer_into_the_district(world)
    assert t.scope == "into_district" and t.member is None
    with pytest.raises(NotAllowed):
        transfer_receive(transfer=t, by=world.outsider)
    transfer_receive(transfer=t, by=world.secretary, on=D(2019, 6, 3))
    member = Member.objects.get(citizen_id="006080001234")
    assert member.branch == world.branch2
    assert Membership.objects.get(member=member).started_on == D(2019, 6, 3)


def test_a_returning_member_is_reactivated(world):
    t = transfer_request(
        on=D(2019, 4, 1),
        by=world.secretary,
        member=world.member,
        other_organisation="Đảng bộ huyện Ba Bể",
    )
    transfer_issue_letter(transfer=t, by=world.district, on=D(2019, 5, 2))
    world.member.refresh_from_db()
    back = transfer_request(
        on=D(2019, 4, 1),
        by=world.secretary,
        member=world.member,
        to_branch=world.branch,
        other_organisation="Đảng bộ huyện Ba Bể",
    )
    assert back.scope == "into_district"
    transfer_receive(transfer=back, by=world.secretary, on=D(2020, 1, 6))
    world.member.refresh_from_db()
    assert world.member.status == "active" and world.member.left_on is None
    assert official_branch(world.member) == world.branch


def test_temporary_transfer_attaches_without_moving(world):
    today = timezone.localdate()
    with pytest.raises(DomainError, match="3 months to 2 years"):
        transfer_request(
            by=world.secretary,
            member=world.member,
            to_branch=world.branch2,
            kind="temporary",
            planned_end=today + datetime.timedelta(days=30),
        )
    t = transfer_request(
        by=world.secretary,
        member=world.member,
        to_branch=world.branch2,
        kind="temporary",
        planned_end=today + datetime.timedelta(days=200),
    )
    transfer_issue_letter(transfer=t, by=world.secretary, on=today)
    transfer_receive(transfer=t, by=world.secretary, on=today)
    assert official_branch(world.member) == world.branch
    attached = Membership.objects.get(member=world.member, kind="temporary")
    assert attached.branch == world.branch2 and attached.ended_on == today + datetime.timedelta(
        days=200
    )


def test_lists_in_progress_follow_the_scope(world):
    t = transfer_request(
        on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.other_branch
    )
    assert list(transfers_in_progress(scope_for(world.outsider))) == [t]  # the receiving commune
    assert list(transfers_in_progress(scope_for(world.secretary))) == [t]
    lonely = make_branch(world.other_commune, village=make_village(world.other_commune))
    assert list(transfers_in_progress(scope_for(world.district))) == [t]
    assert lonely.pk


# --- Races ----------------------------------------------------------------------


def run_at_once(*jobs):
    """Run each job in its own thread with its own database connection.

    On PostgreSQL they start together (a barrier) and really race; on SQLite,
    whose in-memory test database has one writer at a time, they run one after
    the other: the same test, the threads just queue.
    """
    results: list = [None] * len(jobs)
    concurrent = connection.vendor == "postgresql"
    barrier = threading.Barrier(len(jobs)) if concurrent else None

    def run(i, job):
        try:
            if barrier:
                barrier.wait(timeout=10)
            with transaction.atomic():
                value = job()
                if concurrent:
                    # Hold the locks a moment before committing, so the other
                    # thread surely arrives while they are held: the race is
                    # real, not two calls that merely happened one after the other.
                    time.sleep(0.3)
            results[i] = ("ok", value)
        except DomainError as exc:
            results[i] = ("refused", str(exc))
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[i] = ("crashed", repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
        if not concurrent:
            thread.join()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_moving_the_same_member_at_once(world):
    member = Member.objects.get(pk=world.member.pk)

    def by_secretary():
        return transfer_request(
            on=D(2019, 4, 1), by=world.secretary, member=member, to_branch=world.branch2
        ).pk

    def by_district():
        return transfer_request(
            on=D(2019, 4, 1), by=world.district, member=member, to_branch=world.office
        ).pk

    results = run_at_once(by_secretary, by_district)
    assert sorted(r[0] for r in results) == ["ok", "refused"], results
    assert "already has a transfer" in [r for r in results if r[0] == "refused"][0][1]
    assert Transfer.objects.filter(member=member).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_receipts_of_the_same_transfer_at_once(world):
    t = transfer_request(
        on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.other_branch
    )
    transfer_issue_letter(transfer=t, by=world.district, on=D(2019, 5, 2))

    def receive(user):
        return lambda: transfer_receive(transfer=t, by=user, on=D(2019, 5, 6)).pk

    results = run_at_once(receive(world.outsider), receive(world.district))
    assert sorted(r[0] for r in results) == ["ok", "refused"], results
    open_official = Membership.objects.filter(
        member=world.member, kind="official", ended_on__isnull=True
    )
    assert open_official.count() == 1 and open_official.get().branch == world.other_branch


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_letters_issued_at_once_get_different_numbers(world):
    m2 = make_member(world.branch, name="Nông Văn Hai")
    t1 = transfer_request(
        on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.branch2
    )
    t2 = transfer_request(on=D(2019, 4, 1), by=world.secretary, member=m2, to_branch=world.branch2)
    results = run_at_once(
        lambda: (
            transfer_issue_letter(transfer=t1, by=world.secretary, on=D(2019, 5, 2)).letter_number
        ),
        lambda: (
            transfer_issue_letter(transfer=t2, by=world.district, on=D(2019, 5, 2)).letter_number
        ),
    )
    assert sorted(r[1] for r in results) == [1, 2], results


def test_timeline_takes_three_queries_and_renders(world, django_assert_num_queries):
    from django.template.loader import render_to_string

    from members.services.members import member_leave, membership_move

    membership_move(member=world.member, to_branch=world.branch2, on=D(2015, 1, 5))
    moved = Member.objects.get(pk=world.member.pk)
    t = transfer_request(on=D(2019, 4, 1), by=world.secretary, member=moved, to_branch=world.branch)
    transfer_issue_letter(transfer=t, by=world.secretary, on=D(2019, 4, 2))
    transfer_receive(transfer=t, by=world.secretary, on=D(2019, 4, 9))
    member_leave(member=world.member, on=D(2021, 1, 1), reason="died")
    member = Member.objects.get(pk=world.member.pk)
    with django_assert_num_queries(3):  # memberships, transfers, status history
        events = member_timeline(member)
    assert [e.date for e in events] == sorted(e.date for e in events)
    kinds = [e.kind for e in events]
    assert kinds.count("membership_start") == 3 and "status" in kinds
    assert events[-1].date == D(2021, 1, 1)
    html = render_to_string("members/_timeline.html", {"events": events})
    assert "05/01/2015" in html and "09/04/2019" in html and "01/01/2021" in html


def test_branch_dissolutions_snippet(world, django_assert_num_queries):
    from django.template.loader import render_to_string

    from members.selectors.dissolutions import branch_dissolutions
    from members.services.dissolutions import branch_dissolve

    branch_dissolve(branch=world.office, decision="15-QĐ/ĐU", on=D(2019, 4, 1), by=world.secretary)
    with django_assert_num_queries(1):
        batches = list(branch_dissolutions(world.office))
        html = render_to_string("members/_branch_dissolutions.html", {"batches": batches})
    assert "15-QĐ/ĐU" in html and "01/04/2019" in html and "caotan" in html


def test_the_admin_shows_an_incoming_members_details_in_the_interfaces_words(world, client):
    t = _transfer_into_the_district(world)
    Transfer.objects.filter(pk=t.pk).update(incoming={**t.incoming, "is_commune_cadre": False})
    client.force_login(world.admin)
    client.cookies["django_language"] = "en"
    html = client.get(f"/admin/members/transfer/{t.pk}/change/").content.decode()
    # Not the JSON it is kept in: labels, values and dates as everywhere else.
    # The read-only field whose lines name the member (jsonb keeps keys in its own order).
    [details] = [
        d for d in re.findall(r'<div class="readonly">(.*?)</div>', html, re.S) if "full name:" in d
    ]
    assert "Hà Thị Lan" in details and "03/02/1990" in details
    assert '"' not in details and "false" not in details.lower() and "2015-03-03" not in details
