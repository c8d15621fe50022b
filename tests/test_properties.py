"""Property-based tests (hypothesis) for the member date rules in Member.clean:
admission at least 18 years after birth, full membership not before admission,
no date in the future; that whatever those rules accept saves without the
database constraints refusing it; and the transfer letter's overdue cutoff against the
working-day deadline it stands for. Each property is checked against an
independent statement of the rule over thousands of generated dates, leap days
included.
"""

import datetime

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import assume, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from branches.models import Branch, BranchKind, Commune, Village
from members.models import Member
from members.selectors.transfers import letter_overdue_cutoff
from members.services.members import member_create
from pacnam.lib.dates import add_working_days

D = datetime.date
TODAY = timezone.localdate()
past = st.dates(min_value=D(1900, 1, 1), max_value=TODAY)
any_date = st.dates(min_value=D(1900, 1, 1), max_value=TODAY + datetime.timedelta(days=800))

hsettings.register_profile("registry", max_examples=300, deadline=None)
hsettings.load_profile("registry")


def eighteenth_birthday(birth: D) -> D:
    """The rule, stated independently: the day one turns 18; someone born on
    29 February turns 18 on 28 February of a common year."""
    year = birth.year + settings.MINIMUM_ADMISSION_AGE
    day = birth.day
    while True:
        try:
            return D(year, birth.month, day)
        except ValueError:
            day -= 1


MEMBER = dict(citizen_id="001234567890", full_name="Thử", gender="male", ethnicity="Tày")


def errors_of(**dates) -> dict:
    values = dict(MEMBER, birth_date=D(1980, 1, 1), admitted_on=D(2005, 1, 1), full_on=None)
    values.update(dates)
    try:
        Member(**values).clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


@given(birth=past, admitted=past)
@example(birth=D(2000, 2, 29), admitted=D(2018, 2, 28))
@example(birth=D(2000, 2, 29), admitted=D(2018, 2, 27))
@example(birth=D(1990, 6, 15), admitted=D(2008, 6, 15))
@example(birth=D(1990, 6, 15), admitted=D(2008, 6, 14))
def test_admission_is_refused_exactly_before_the_eighteenth_birthday(birth, admitted):
    refused = "admitted_on" in errors_of(birth_date=birth, admitted_on=admitted)
    assert refused == (admitted < eighteenth_birthday(birth))


@given(
    birth=st.dates(min_value=D(1900, 1, 1), max_value=D(2000, 1, 1)),
    days_after=st.integers(min_value=1, max_value=18 * 366),
)
def test_the_refusal_names_the_age_in_the_message(birth, days_after):
    admitted = birth + datetime.timedelta(days=days_after)
    assume(admitted < eighteenth_birthday(birth))
    message = " ".join(errors_of(birth_date=birth, admitted_on=admitted)["admitted_on"])
    assert str(settings.MINIMUM_ADMISSION_AGE) in message


@given(admitted=past, full=past)
@example(admitted=D(2019, 4, 1), full=D(2019, 4, 1))
@example(admitted=D(2019, 4, 1), full=D(2019, 3, 31))
def test_full_membership_is_refused_exactly_before_admission(admitted, full):
    birth = D(1900, 1, 1)
    assume(admitted >= eighteenth_birthday(birth))
    refused = "full_on" in errors_of(birth_date=birth, admitted_on=admitted, full_on=full)
    assert refused == (full < admitted)


@given(birth=any_date, admitted=any_date, full=st.none() | any_date)
@example(birth=D(1980, 1, 1), admitted=TODAY, full=TODAY)
@example(birth=D(1980, 1, 1), admitted=TODAY, full=TODAY + datetime.timedelta(days=1))
def test_future_dates_are_refused_and_today_is_not(birth, admitted, full):
    errors = errors_of(birth_date=birth, admitted_on=admitted, full_on=full)
    for field, value in (("birth_date", birth), ("admitted_on", admitted), ("full_on", full)):
        future = value is not None and value > TODAY
        flagged = any("future" in m or "tương lai" in m for m in errors.get(field, []))
        assert flagged == future, (field, value, errors)


@st.composite
def member_dates(draw):
    """Dates near the rules' edges more often than uniform dates would be: admission
    around the 18th birthday, full membership around admission, sometimes in the future."""
    birth = draw(past)
    admitted = draw(
        st.one_of(
            past,
            st.builds(
                lambda days: birth + datetime.timedelta(days=days), st.integers(17 * 365, 19 * 366)
            ),
        )
    )
    full = draw(
        st.one_of(
            st.none(),
            past,
            st.builds(lambda days: admitted + datetime.timedelta(days=days), st.integers(-3, 800)),
        )
    )
    return birth, admitted, full


@pytest.mark.django_db
@given(dates=member_dates(), card=st.sampled_from(["", "NA-000123"]))
@example(dates=(D(1980, 1, 1), D(1998, 1, 1), D(1998, 1, 1)), card="NA-000123")
@example(dates=(D(2000, 2, 29), D(2018, 2, 28), None), card="")
def test_what_clean_accepts_saves_without_an_integrity_error(dates, card):
    """clean() is the first line, the CheckConstraints the last: whatever clean()
    lets through must then save, as member_create saves it, without the database
    refusing it. Each example runs in a transaction rolled back at its end."""
    birth, admitted, full = dates
    dates = dict(birth_date=birth, admitted_on=admitted, full_on=full, card_number=card)
    assume(not errors_of(**dates))
    with transaction.atomic():
        commune = Commune.objects.create(code="09999", name="Xã Thử")
        village = Village.objects.create(commune=commune, code="V09999", name="Thôn Thử")
        branch = Branch.objects.create(
            commune=commune,
            village=village,
            kind=BranchKind.VILLAGE,
            code="B09999",
            name="Chi bộ thôn Thử",
            founded_on=D(1900, 1, 1),
        )
        member = Member(**{**MEMBER, **dates}, residence_village=village)
        member_create(member=member, branch=branch)
        assert Member.objects.filter(pk=member.pk, birth_date=birth, full_on=full).exists()
        transaction.set_rollback(True)


@given(
    today=st.dates(min_value=D(2018, 1, 1), max_value=D(2030, 12, 31)),
    deadline=st.integers(min_value=0, max_value=45),
)
@example(today=D(2019, 4, 17), deadline=30)
@example(today=D(2019, 4, 16), deadline=30)
@example(today=D(2019, 5, 6), deadline=1)
def test_the_overdue_cutoff_is_the_last_letter_date_whose_deadline_has_passed(today, deadline):
    """letter_overdue_cutoff counts back once; the rule it stands for is "a letter is
    overdue when its deadline, `deadline` working days after its date, is before
    today". The latest such date is the cutoff, and the day after is not overdue."""
    with override_settings(
        HOLIDAYS=["2019-04-15", "2019-04-30", "2019-05-01", "2019-09-02"],
        TRANSFER_LETTER_DEADLINE_WORKING_DAYS=deadline,
    ):
        cutoff = letter_overdue_cutoff(today)
        assert add_working_days(cutoff, deadline) < today
        assert add_working_days(cutoff + datetime.timedelta(days=1), deadline) >= today
