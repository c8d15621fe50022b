"""Sign-in with a second factor (issue 16, item 5): required for administrators
and district officers when OTP_REQUIRED is on, optional for others; set up with
a QR code rendered by us; recovery codes; and login throttling per address
across usernames."""

import binascii
import re

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from pacnam.models import AuditEntry
from pacnam.security import second_factor as sf

LOGIN = "/accounts/login/"
CODE_PAGE = "/accounts/second-factor/"
SETUP_PAGE = "/accounts/second-factor/setup/"
CODES_PAGE = "/accounts/second-factor/recovery-codes/"


@pytest.fixture
def otp_on(settings):
    settings.OTP_REQUIRED = True


def sign_in(client, user, **extra):
    response = client.post(
        LOGIN, {"username": user.username, "password": f"pw-{user.username}"}, **extra
    )
    assert response.status_code == 302, response.content[:300]
    return response


def code_for(key_hex: str, *, later: int = 0) -> str:
    totp = TOTP(binascii.unhexlify(key_hex))
    totp.time += later * totp.step
    return f"{totp.token():06d}"


def device_for(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


REQUIRED_ROLES = ["district", "admin"]
OPTIONAL_ROLES = ["secretary", "branch_secretary", "outsider"]


@pytest.mark.parametrize("role", REQUIRED_ROLES)
def test_an_officer_must_enter_a_code_after_the_password(world, client, otp_on, role):
    user = getattr(world, role)
    device = device_for(user)
    sign_in(client, user)
    response = client.get("/members/")
    assert response.status_code == 302 and response["Location"] == f"{CODE_PAGE}?next=%2Fmembers%2F"
    # Nothing else answers until the code is given.
    assert client.get(f"/members/{world.member.pk}/").status_code == 302
    assert client.get("/read-log/").status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200 and b'autocomplete="one-time-code"' in page.content
    wrong = client.post(CODE_PAGE, {"code": "000000", "next": "/members/"})
    assert wrong.status_code == 200 and "code" in wrong.context["form"].errors
    device.refresh_from_db()
    device.throttle_reset()  # a wrong code costs a second's wait (django-otp); it has passed
    ok = client.post(CODE_PAGE, {"code": code_for(device.key), "next": "/members/"})
    assert ok.status_code == 302 and ok["Location"] == "/members/"
    assert client.get("/members/").status_code == 200
    assert client.session[sf.STATE_KEY] == sf.VERIFIED


@pytest.mark.parametrize("role", OPTIONAL_ROLES)
def test_others_sign_in_with_the_password_alone(world, client, otp_on, role):
    sign_in(client, getattr(world, role))
    assert client.get("/members/").status_code == 200
    assert client.get(CODE_PAGE).status_code == 302  # nothing to enter: on to the dashboard


@pytest.mark.parametrize("role", OPTIONAL_ROLES)
def test_others_may_set_it_up_and_are_then_asked_for_it(world, client, otp_on, role):
    user = getattr(world, role)
    sign_in(client, user)
    page = client.get(SETUP_PAGE)
    assert page.status_code == 200 and page.context["required"] is False
    key = client.session[sf.PENDING_KEY]
    done = client.post(SETUP_PAGE, {"code": code_for(key)})
    assert done.status_code == 200 and len(done.context["codes"]) == sf.RECOVERY_CODES
    client.post(reverse("logout"))
    sign_in(client, user)
    assert client.get("/members/").status_code == 302


def test_without_otp_required_the_demo_logins_need_no_code(world, client):
    assert django_settings.OTP_REQUIRED is False  # as under `make run` (DEBUG on)
    sign_in(client, world.district)
    assert client.get("/").status_code == 200


def test_setting_it_up_shows_a_qr_code_of_our_own_and_recovery_codes(world, client, otp_on):
    sign_in(client, world.district)
    first = client.get("/")
    assert first["Location"].startswith(CODE_PAGE)
    setup = client.get(first["Location"])
    assert setup.status_code == 302 and setup["Location"].startswith(SETUP_PAGE)
    page = client.get(setup["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and page.context["required"] is True
    assert 'src="data:image/svg+xml' in html and "http" not in page.context["qr"][:30]
    key = client.session[sf.PENDING_KEY]
    assert page.context["secret"].replace(" ", "") in sf.otpauth_url(world.district, key)
    assert not TOTPDevice.objects.filter(user=world.district).exists()  # nothing saved on GET

    wrong = client.post(SETUP_PAGE, {"code": "000000" if code_for(key) != "000000" else "111111"})
    assert wrong.status_code == 200 and wrong.context["form"].errors
    done = client.post(SETUP_PAGE, {"code": code_for(key), "next": "/members/"})
    codes = done.context["codes"]
    assert done.status_code == 200 and len(set(codes)) == 10
    assert all(code in done.content.decode() for code in codes)
    device = TOTPDevice.objects.get(user=world.district)
    assert device.key == key and device.confirmed
    assert client.get("/members/").status_code == 200
    entry = AuditEntry.objects.order_by("-seq").first()
    assert (entry.action, entry.actor, entry.object_repr) == (
        "second_factor_set_up",
        world.district,
        "district",
    )

    # A recovery code works once, in place of the app's code.
    client.post(reverse("logout"))
    sign_in(client, world.district)
    assert client.post(CODE_PAGE, {"code": codes[0].upper()}).status_code == 302
    assert client.get("/").status_code == 200
    client.post(reverse("logout"))
    sign_in(client, world.district)
    again = client.post(CODE_PAGE, {"code": codes[0]})
    assert again.status_code == 200 and again.context["form"].errors


def test_a_stolen_password_cannot_replace_the_device(world, client, otp_on):
    device = device_for(world.district)
    sign_in(client, world.district)
    response = client.get(SETUP_PAGE)
    assert response.status_code == 302 and response["Location"].startswith(CODE_PAGE)
    client.post(SETUP_PAGE, {"code": "123456"})
    assert list(TOTPDevice.objects.filter(user=world.district)) == [device]
    assert client.post(CODES_PAGE).status_code == 302  # to the code page first


def test_a_code_is_not_accepted_twice(world, client, otp_on):
    device = device_for(world.district)
    code = code_for(device.key)
    sign_in(client, world.district)
    assert client.post(CODE_PAGE, {"code": code}).status_code == 302
    client.post(reverse("logout"))
    sign_in(client, world.district)
    assert client.post(CODE_PAGE, {"code": code}).status_code == 200


def test_repeated_wrong_codes_are_throttled(world, client, otp_on):
    device = device_for(world.district)
    sign_in(client, world.district)
    for _ in range(3):
        client.post(CODE_PAGE, {"code": "000000"})
    refused = client.post(CODE_PAGE, {"code": code_for(device.key)})
    assert refused.status_code == 200
    assert re.search(r"\d+", " ".join(refused.context["form"].errors["code"]))


def test_new_recovery_codes_replace_the_old_ones(world, client, otp_on):
    device = device_for(world.district)
    sign_in(client, world.district)
    client.post(CODE_PAGE, {"code": code_for(device.key)})
    first = client.post(CODES_PAGE).context["codes"]
    second = client.post(CODES_PAGE).context["codes"]
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(second)
    assert not set(first) & set(second)
    assert client.get(CODES_PAGE).status_code == 405


@pytest.mark.parametrize(
    "role", ["district", "secretary", "branch_secretary", "admin", "outsider", "nobody"]
)
def test_every_role_sees_its_own_setup_page_with_fixed_queries(
    world, login, django_assert_num_queries, role
):
    client = login(getattr(world, role))
    client.get(SETUP_PAGE)
    # session, user, the device; is-it-required (permissions, role: fewer for a
    # superuser or with OTP_REQUIRED off); the menu's scope (the role); the session's save.
    with django_assert_num_queries(7):
        assert client.get(SETUP_PAGE).status_code == 200
    assert client.post(CODES_PAGE).status_code == 404  # no device yet


@pytest.mark.parametrize("role", REQUIRED_ROLES)
def test_the_code_page_has_a_fixed_number_of_queries(
    world, client, otp_on, django_assert_num_queries, role
):
    device_for(getattr(world, role))
    sign_in(client, getattr(world, role))
    client.get(CODE_PAGE)
    # session, user, the device; the session's save (savepoint, update, release).
    with django_assert_num_queries(6):
        assert client.get(CODE_PAGE).status_code == 200


def test_anonymous_users_are_sent_to_the_login_page(client):
    for path in (CODE_PAGE, SETUP_PAGE):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_a_session_from_before_the_second_factor_is_asked_for_it(world, client, otp_on):
    device_for(world.district)
    sign_in(client, world.district)
    session = client.session
    del session[sf.STATE_KEY]
    session.save()
    assert client.get("/").status_code == 302


def test_the_role_grants_the_requirement_and_the_admin_can_grant_it_to_anyone(
    world, client, otp_on
):
    from django.contrib.auth.models import Permission

    assert sf.is_required(world.district) and sf.is_required(world.admin)
    assert not sf.is_required(world.secretary)
    world.secretary.user_permissions.add(Permission.objects.get(codename="second_factor_required"))
    sign_in(client, world.secretary)
    assert client.get("/").status_code == 302


# --- Throttling per address, across usernames ---


def test_password_spraying_from_one_address_is_locked_out(world, client, settings):
    settings.AXES_IP_FAILURE_LIMIT = 6
    sprayer = {"REMOTE_ADDR": "10.9.8.7"}
    for username in [
        "caotan",
        "district",
        "coclai",
        "giaohieu",
        "admin",
    ]:  # never the per-user limit
        response = client.post(LOGIN, {"username": username, "password": "123456"}, **sprayer)
        assert response.status_code == 200
    sixth = client.post(LOGIN, {"username": "nobody", "password": "123456"}, **sprayer)
    assert sixth.status_code in (403, 429)
    # Now even the right password of another user is refused from that address.
    locked = client.post(LOGIN, {"username": "district", "password": "pw-district"}, **sprayer)
    assert locked.status_code in (403, 429)
    assert "registration/lockout.html" in [t.name for t in locked.templates]
    # Another address is not locked.
    other = client.post(
        LOGIN, {"username": "district", "password": "pw-district"}, REMOTE_ADDR="10.1.1.1"
    )
    assert other.status_code == 302


def test_a_few_typos_in_a_shared_office_lock_no_one_out(world, client, settings):
    office = {"REMOTE_ADDR": "10.2.2.2"}
    assert settings.AXES_IP_FAILURE_LIMIT > settings.AXES_FAILURE_LIMIT
    for username in ["caotan", "coclai", "giaohieu"]:
        client.post(LOGIN, {"username": username, "password": "typo"}, **office)
    assert (
        client.post(
            LOGIN, {"username": "district", "password": "pw-district"}, **office
        ).status_code
        == 302
    )
