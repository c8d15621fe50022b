"""Faults survived with nothing half-written: a process killed with SIGKILL in the
middle of a dissolution or a reorganisation leaves the branches, the communes and
every member as they were, the trail and the records agreeing, and the same
operation done again works. (The worker
killed in the middle of an import is tests/test_job_lease.py's last test.)

The dissolution runs in a process of its own against the test database; the script
below wraps one of the service's own steps (moving a member; ending the emptied
district) so that it says when it is
in the middle and then waits to be killed: everything before that point is the
registry's real transaction, uncommitted."""

import datetime
import importlib
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command

from branches.access import scope_for
from branches.models import Branch, BranchInCommune, Commune, Reorganization
from branches.services.reorganizations import reorganization_apply, reorganization_plan
from meetings.models import DuesPayment, DuesRate, Meeting, MeetingKind
from meetings.services.dues import DuesEntry, dues_collect, dues_profile_set
from meetings.services.meetings import meeting_create
from members.models import DissolutionBatch, Membership, MembershipKind
from members.services.dissolutions import branch_dissolve
from pacnam.models import AuditEntry
from tests.conftest import make_member
from tests.test_import_jobs import database_url
from tests.test_reorganization import JULY, lines, pac_nam  # noqa: F401

load_rates = importlib.import_module("meetings.migrations.0007_dues_rates").load

ROOT = Path(__file__).resolve().parent.parent
ON = datetime.date(2019, 4, 1)

DISSOLVE_UNTIL_KILLED = textwrap.dedent(
    """
    import datetime, os, sys, time
    import django
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacnam.settings")
    django.setup()
    from branches.models import Branch
    from members.services import dissolutions

    stop_after = int(sys.argv[2])
    moved = []
    real_move = dissolutions.membership_move

    def move_then_wait(**kwargs):
        result = real_move(**kwargs)
        moved.append(result)
        if len(moved) == stop_after:
            print("in the middle", flush=True)
            time.sleep(120)
        return result

    dissolutions.membership_move = move_then_wait
    dissolutions.branch_dissolve(
        branch=Branch.objects.get(pk=int(sys.argv[1])),
        decision="15-QĐ/ĐU",
        on=datetime.date(2019, 4, 1),
        by=None,
    )
    print("finished", flush=True)
    """
)


REORGANIZE_UNTIL_KILLED = textwrap.dedent(
    """
    import os, time
    import django
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacnam.settings")
    django.setup()
    from branches.services import reorganizations
    from tests.test_reorganization import JULY, lines

    real_end = reorganizations._end_emptied_parents

    def end_then_wait(*args, **kwargs):
        # Every commune, village and branch has moved; the district is next.
        print("in the middle", flush=True)
        time.sleep(120)
        return real_end(*args, **kwargs)

    reorganizations._end_emptied_parents = end_then_wait
    plan = reorganizations.reorganization_plan(lines=lines(), on=JULY)
    assert not plan.errors, plan.errors
    reorganizations.reorganization_apply(plan=plan, decision="1683/NQ-UBTVQH15", by=None)
    print("finished", flush=True)
    """
)


COLLECT_UNTIL_KILLED = textwrap.dedent(
    """
    import os, sys, time
    import django
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacnam.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from branches.access import scope_for
    from meetings.models import DuesPayment, Meeting
    from meetings.services.dues import DuesEntry, dues_collect

    real_save = DuesPayment.save
    saved = []

    def save_then_wait(self, *args, **kwargs):
        real_save(self, *args, **kwargs)
        saved.append(self.pk)
        if len(saved) == 3:  # the first member's month and months ahead, the next begun
            print("in the middle", flush=True)
            time.sleep(120)

    DuesPayment.save = save_then_wait
    user = get_user_model().objects.get(pk=int(sys.argv[1]))
    members = [int(pk) for pk in sys.argv[3:]]
    dues_collect(
        scope=scope_for(user),
        meeting=Meeting.objects.get(pk=int(sys.argv[2])),
        entries={pk: DuesEntry(paid=45_000, ahead=1) for pk in members},
        by=user,
    )
    print("finished", flush=True)
    """
)


def kill_in_the_middle(script: str, *args: str) -> None:
    """Run `script` in a process of its own on the test database and SIGKILL it
    once it says it is in the middle of its transaction."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.strip() == "in the middle", line + process.stderr.read()
        process.kill()  # SIGKILL: no handler runs; PostgreSQL rolls its transaction back
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def open_official(member) -> list[Membership]:
    return list(
        Membership.objects.filter(
            member=member, kind=MembershipKind.OFFICIAL, ended_on__isnull=True
        )
    )


def assert_trail_and_records_agree() -> None:
    call_command("audit_verify", "--records", stdout=io.StringIO())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stop_after", [1, 3], ids=["after-the-first-move", "after-the-last-move"])
def test_a_dissolution_killed_midway_leaves_everything_as_it_was(world, stop_after):
    office = world.office
    cadres = [
        world.cadre,
        make_member(office, village=world.village2, name="Đinh Văn Tú", is_commune_cadre=True),
        make_member(office, village=world.village, name="Hoàng Thị Lan", is_commune_cadre=True),
    ]
    entries = AuditEntry.objects.count()
    kill_in_the_middle(DISSOLVE_UNTIL_KILLED, str(office.pk), str(stop_after))

    # Nothing of the dead transaction is left: no batch, the branch open, each
    # member in the office branch once, and no audit entry.
    assert not DissolutionBatch.objects.exists()
    assert Branch.objects.get(pk=office.pk).dissolved_on is None
    for cadre in cadres:
        assert [m.branch_id for m in open_official(cadre)] == [office.pk]
    assert AuditEntry.objects.count() == entries
    assert_trail_and_records_agree()

    # Done again, it works: the members' rows were never left locked.
    batch = branch_dissolve(branch=office, decision="15-QĐ/ĐU", on=ON, by=None)
    assert batch.moves.count() == len(cadres)
    for cadre in cadres:
        (current,) = open_official(cadre)
        assert current.branch_id != office.pk
    assert_trail_and_records_agree()


def commune_map() -> dict:
    """Where every branch is, and every commune's state: what a reorganisation changes."""
    return {
        "branches": sorted(Branch.objects.values_list("pk", "commune_id")),
        "periods": sorted(
            BranchInCommune.objects.values_list("branch_id", "commune_id", "valid_from", "valid_to")
        ),
        "communes": sorted(Commune.objects.values_list("pk", "code", "valid_to", "merged_into_id")),
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reorganisation_killed_midway_leaves_every_commune_as_it_was(pac_nam):  # noqa: F811
    before = commune_map()
    entries = AuditEntry.objects.count()
    kill_in_the_middle(REORGANIZE_UNTIL_KILLED)

    assert not Reorganization.objects.exists()
    assert commune_map() == before
    assert AuditEntry.objects.count() == entries
    assert_trail_and_records_agree()

    # Done again, it works.
    plan = reorganization_plan(lines=lines(), on=JULY)
    assert not plan.errors, plan.errors
    reorganization_apply(plan=plan, decision="1683/NQ-UBTVQH15", by=None)
    assert commune_map() != before
    assert Commune.objects.filter(code="01879", valid_from=JULY).exists()
    assert_trail_and_records_agree()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dues_collection_killed_midway_records_nothing(world):
    # The rates are rows of a data migration, which a transactional test before
    # this one may have flushed: loaded again as the migration loads them.
    if not DuesRate.objects.exists():
        load_rates(django_apps, None)
    members = [world.member, make_member(world.branch, name="Lục Thị Hoa")]
    for member in members:
        dues_profile_set(
            scope=scope_for(world.secretary),
            member=member,
            valid_from=datetime.date(2019, 1, 1),
            category="salary",
            base=4_500_000,
        )
    meeting = meeting_create(
        scope=scope_for(world.branch_secretary),
        user=world.branch_secretary,
        meeting=Meeting(
            branch=world.branch, date=datetime.date(2019, 5, 10), kind=MeetingKind.REGULAR
        ),
    )
    entries = AuditEntry.objects.count()
    kill_in_the_middle(
        COLLECT_UNTIL_KILLED,
        str(world.branch_secretary.pk),
        str(meeting.pk),
        *(str(m.pk) for m in members),
    )

    assert not DuesPayment.objects.exists()
    assert AuditEntry.objects.count() == entries
    assert_trail_and_records_agree()

    # Done again, it works: every member's month and the month ahead.
    written = dues_collect(
        scope=scope_for(world.branch_secretary),
        meeting=Meeting.objects.get(pk=meeting.pk),
        entries={m.pk: DuesEntry(paid=45_000, ahead=1) for m in members},
        by=world.branch_secretary,
    )
    assert written == 4 == DuesPayment.objects.count()
    assert_trail_and_records_agree()
