import datetime
import os
import re
import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from branches.access import scope_for
from members.models import Member, Membership
from members.services.members import member_leave, membership_move
from pacnam.lib.errors import DomainError
from tests.conftest import make_branch, make_member

D = datetime.date


def test_second_open_official_membership_is_refused_by_the_database(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            member=world.member, branch=world.branch2, started_on=D(2020, 1, 1)
        )
    assert Membership.objects.filter(member=world.member).count() == 1


def test_temporary_membership_may_run_beside_the_official_one(world):
    Membership.objects.create(
        member=world.member,
        branch=world.branch2,
        kind="temporary",
        started_on=D(2020, 1, 1),
        ended_on=D(2020, 7, 1),
    )
    assert Membership.objects.filter(member=world.member).count() == 2


@pytest.mark.parametrize(
    "field, value",
    [("citizen_id", "12345"), ("card_number", "X1")],
)
def test_member_constraints_hold_in_the_database(world, field, value):
    member = world.member
    if field == "card_number":
        Member.objects.filter(pk=member.pk).update(full_on=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(**{field: value})


def test_admission_must_follow_birth_in_the_database(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=world.member.pk).update(admitted_on=D(1970, 1, 1))


def test_card_numbers_are_unique_when_present(world):
    Member.objects.filter(pk=world.member.pk).update(card_number="0001")
    Member.objects.filter(pk=world.cadre.pk).update(card_number="")  # empty is not a duplicate
    Member.objects.filter(pk=world.other_member.pk).update(card_number="")
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=world.cadre.pk).update(card_number="0001")


def test_rules_a_person_can_break_are_validation_messages(world):
    member = Member(
        citizen_id="123456789012",
        full_name="Ma Văn Trẻ",
        gender="male",
        birth_date=D(2005, 1, 1),
        ethnicity="Tày",
        residence_village=world.village,
        admitted_on=D(2020, 1, 1),
        card_number="77",
    )
    with pytest.raises(ValidationError) as info:
        member.full_clean(exclude=["branch"])
    errors = info.value.message_dict
    assert "admitted_on" in errors  # under 18 at admission
    assert "card_number" in errors  # probationary members have no card


def test_roster_on_a_date_follows_the_moves(world):
    member = make_member(world.branch, since=D(2010, 1, 1))
    membership_move(member=member, to_branch=world.branch2, on=D(2019, 4, 1))
    roster_before = Membership.objects.roster(world.branch, D(2019, 3, 31))
    roster_after = Membership.objects.roster(world.branch, D(2019, 4, 1))
    assert member.pk in roster_before.values_list("member_id", flat=True)
    assert member.pk not in roster_after.values_list("member_id", flat=True)
    assert member.pk in Membership.objects.roster(world.branch2, D(2019, 4, 1)).values_list(
        "member_id", flat=True
    )
    member.refresh_from_db()
    assert member.branch == world.branch2


def test_a_dissolved_branch_accepts_no_one(world):
    closed = make_branch(world.commune, dissolved_on=D(2019, 4, 1), dissolution_decision="12-QĐ/ĐU")
    with pytest.raises(DomainError):
        membership_move(member=world.member, to_branch=closed, on=D(2019, 5, 1))


def test_leaving_closes_every_membership_and_keeps_the_member(world):
    member_leave(member=world.member, on=D(2021, 1, 1), reason="died")
    world.member.refresh_from_db()
    assert world.member.status == "left"
    assert not Membership.objects.filter(member=world.member, ended_on__isnull=True).exists()
    assert Member.objects.filter(pk=world.member.pk).exists()


def test_scopes(world):
    assert scope_for(world.district).branches().count() == 4
    assert set(scope_for(world.secretary).branches()) == {world.branch, world.branch2, world.office}
    assert list(scope_for(world.branch_secretary).branches()) == [world.branch]
    assert scope_for(world.nobody).branches().count() == 0
    assert list(Member.objects.visible_to(scope_for(world.outsider))) == [world.other_member]


def test_healthz(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_settings_refuse_to_start_without_secret_key_when_debug_is_off():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env["DJANGO_SETTINGS_MODULE"] = "pacnam.settings"
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_settings_start_without_secret_key_in_debug():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DJANGO_SETTINGS_MODULE="pacnam.settings", DEBUG="1")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    assert result.returncode == 0, result.stderr


def test_commands_that_sign_nothing_run_without_a_secret_key_and_the_rest_refuse():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    root = os.path.dirname(os.path.dirname(__file__))
    check = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert check.returncode == 0, check.stderr
    serve = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--plan"],
        env=env,
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert serve.returncode != 0
    assert "SECRET_KEY is not set" in serve.stderr


def test_probationary_is_one_rule_for_the_model_the_queryset_and_the_pages(world, login):
    """Member.is_probationary_on is the one definition: the roster of a past date
    badges a member who was probationary then, today's pages do not, and the
    queryset agrees with the property for every member."""
    member = make_member(
        world.branch, name="Nông Thị Mỷ", admitted_on=D(2018, 3, 1), full_on=D(2019, 3, 5)
    )
    assert member.is_probationary_on(D(2018, 3, 1))
    assert not member.is_probationary_on(D(2018, 2, 28))  # not yet admitted
    assert not member.is_probationary_on(D(2019, 3, 5))  # full from that day
    assert not member.is_probationary
    newcomer = make_member(
        world.branch, name="Lục Văn Sáng", admitted_on=D(2024, 5, 1), full_on=None
    )
    assert newcomer.is_probationary
    member_leave(member=newcomer, on=D(2025, 1, 10), reason="died")
    newcomer.refresh_from_db()
    assert newcomer.is_probationary_on(D(2025, 1, 9)) and not newcomer.is_probationary
    probationary = set(Member.objects.probationary().values_list("pk", flat=True))
    assert probationary == {m.pk for m in Member.objects.all() if m.is_probationary}

    client = login(world.district)
    past = client.get(f"/branches/{world.branch.pk}/?as_of=2018-06-01").content.decode()
    today = client.get(f"/branches/{world.branch.pk}/").content.decode()
    # The roster row: the name's link, then its badges up to the end of the cell.
    row = re.compile(r"Nông Thị Mỷ</a>(.*?)</td>", re.S)
    assert "dự bị" in row.search(past).group(1)
    assert "dự bị" not in row.search(today).group(1)


def test_a_duplicate_card_number_is_refused_in_vietnamese_naming_the_field(world):
    from django.core.exceptions import ValidationError
    from django.utils import translation

    Member.objects.filter(pk=world.member.pk).update(card_number="0001")
    cadre = Member.objects.get(pk=world.cadre.pk)
    cadre.card_number = "0001"
    with translation.override("vi"), pytest.raises(ValidationError) as raised:
        cadre.validate_constraints()
    text = " ".join(raised.value.messages)
    assert "Số thẻ đảng viên" in text and "Constraint" not in text
