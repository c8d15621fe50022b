"""Sign-in with a second factor: a TOTP code from an authenticator app, or a
recovery code, after the password (django-otp's devices and throttling).

Who must: administrators, and users who have the permission
`pacnam.second_factor_required` — district (and later province) officers get it
with their role (branches.access.RolePermissionBackend), and an administrator
can give it to any user or group in the admin. Only when settings.OTP_REQUIRED
is on (the default with DEBUG off; `make run`'s demo logins work without it).
Anyone else may set it up; once set up, it is asked at every sign-in.

How: at sign-in (user_logged_in) the session records whether a code is still
needed; SecondFactorMiddleware sends a session that needs one to the code
page (or, without a device yet, to the set-up page) for every URL but those
pages and logging out. The middleware reads only the session, which every
signed-in page reads anyway: no page gains a query.
"""

from __future__ import annotations

import base64
import binascii

import segno
from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

REQUIRED_PERMISSION = "pacnam.second_factor_required"
REVIEW_READS_PERMISSION = "pacnam.view_readlogentry"

# Session keys: the sign-in's state, and whether the user reviews the read log (for the menu).
STATE_KEY = "pacnam_second_factor"
REVIEWS_READS_KEY = "pacnam_reviews_reads"
PENDING_KEY = "pacnam_second_factor_key"  # the key being set up, until a code confirms it
NEEDED, VERIFIED, NOT_NEEDED = "needed", "verified", "not_needed"

RECOVERY_CODES = 10
TOTP_DEVICE_NAME = "authenticator"
STATIC_DEVICE_NAME = "recovery codes"


def is_required(user) -> bool:
    if not getattr(settings, "OTP_REQUIRED", False):
        return False
    return user.is_superuser or user.has_perm(REQUIRED_PERMISSION)


def confirmed_totp(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def state_for(user) -> str:
    if is_required(user) or confirmed_totp(user) is not None:
        return NEEDED
    return NOT_NEEDED


@receiver(user_logged_in, dispatch_uid="pacnam_second_factor_login")
def _at_sign_in(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    session[STATE_KEY] = state_for(user)
    session[REVIEWS_READS_KEY] = user.has_perm(REVIEW_READS_PERMISSION)


def verify_code(user, code: str):
    """The device that accepts `code` (TOTP first, then a recovery code), or None.

    django-otp checks each device in a transaction with its row locked, counts
    failures and refuses for a growing time after repeated ones; a recovery
    code is used up; a TOTP code is not accepted twice.
    """
    code = "".join(code.split()).lower()
    if not code:
        return None
    for model in (TOTPDevice, StaticDevice):
        for device in model.objects.filter(user=user, confirmed=True):
            verified = verify_token(user, device.persistent_id, code)
            if verified is not None:
                return verified
    return None


def throttled_seconds(user) -> int:
    """How long the user must wait before the next code is checked (0: now)."""
    wait = 0
    for model in (TOTPDevice, StaticDevice):
        for device in model.objects.filter(user=user, confirmed=True):
            allowed, info = device.verify_is_allowed()
            if not allowed and info and info.get("locked_until"):
                wait = max(wait, int((info["locked_until"] - timezone.now()).total_seconds()) + 1)
    return wait


def mark_verified(request, device) -> None:
    """The session passed the second factor: a new session key, as after a sign-in."""
    otp_login(request, device)
    request.session.cycle_key()
    request.session[STATE_KEY] = VERIFIED


# --- Setting it up ---


def pending_key(session) -> str:
    """The secret being set up, kept in the session (not in the database) until a
    code from the app confirms it: an abandoned set-up leaves nothing behind."""
    key = session.get(PENDING_KEY)
    if not key:
        key = session[PENDING_KEY] = random_hex(20)
    return key


def otpauth_url(user, key_hex: str) -> str:
    device = TOTPDevice(user=user, key=key_hex, name=TOTP_DEVICE_NAME)
    return device.config_url


def qr_data_uri(text: str) -> str:
    """An SVG QR code as a data: URI (served by us, allowed by the CSP's img-src)."""
    return segno.make(text, error="m").svg_data_uri(scale=5, border=2)


def secret_text(key_hex: str) -> str:
    """The key as authenticator apps take it when typed: base32 in groups of four."""
    secret = base64.b32encode(binascii.unhexlify(key_hex)).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm_setup(user, key_hex: str, code: str) -> list[str] | None:
    """If `code` is the app's current code for `key_hex`: the user's device is that
    key (replacing any other), with new recovery codes, which are returned."""
    try:
        token = int("".join(code.split()))
    except ValueError:
        return None
    totp = TOTP(binascii.unhexlify(key_hex))
    if not totp.verify(token, tolerance=1):
        return None
    with transaction.atomic():
        # The race: two set-up forms confirmed at once would leave two devices;
        # locking the user's row makes the second wait and replace the first.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        TOTPDevice.objects.filter(user=user).delete()
        TOTPDevice.objects.create(
            user=user, name=TOTP_DEVICE_NAME, key=key_hex, confirmed=True, last_t=totp.t()
        )
        return new_recovery_codes(user)


def new_recovery_codes(user) -> list[str]:
    """Ten new single-use recovery codes for `user`; the old ones stop working."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=STATIC_DEVICE_NAME, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


# --- The middleware ---


class SecondFactorMiddleware:
    """Sends a signed-in session that still needs its code to the code page."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._open_paths: tuple[str, ...] | None = None

    def _open(self, path: str) -> bool:
        if self._open_paths is None:
            self._open_paths = (
                reverse("second_factor"),
                reverse("second_factor_setup"),
                reverse("logout"),
                reverse("set_language"),
                reverse("healthz"),
            )
        # Static files never get here: WhiteNoise answers them first.
        return path in self._open_paths

    def __call__(self, request):
        # No session cookie: nobody is signed in, and the session is not even read.
        if settings.SESSION_COOKIE_NAME in request.COOKIES and AUTH_SESSION_KEY in request.session:
            state = request.session.get(STATE_KEY)
            if state is None:  # a session from before this middleware existed
                state = request.session[STATE_KEY] = state_for(request.user)
            if state == NEEDED and not self._open(request.path_info):
                # The code page sends a user without a device on to the set-up page.
                target = reverse("second_factor")
                return HttpResponseRedirect(
                    f"{target}?{urlencode({'next': request.get_full_path()})}"
                )
        return self.get_response(request)
