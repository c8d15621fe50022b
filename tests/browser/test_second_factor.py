"""Sign-in with a second factor in the browser (issue 16): with OTP required, an
officer who entered the password must enter a valid code before the dashboard."""

import base64

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_officer_enters_the_code_after_the_password(world, page_for, settings):
    settings.OTP_REQUIRED = True
    device = TOTPDevice.objects.create(user=world.district, name="authenticator", confirmed=True)
    page = page_for()
    log_in(page, "district", "pw-district")
    assert "/accounts/second-factor/" in page.url
    assert page.locator("input[name=code]").count() == 1
    # The dashboard is not reachable yet.
    page.goto("/members/")
    assert "/accounts/second-factor/" in page.url and page.locator("table").count() == 0

    page.fill("input[name=code]", f"{TOTP(device.bin_key).token():06d}")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/members/")
    page.goto("/")
    assert page.url.endswith("/") and "/accounts/" not in page.url
    assert page.locator("nav.mainnav").count() == 1  # the signed-in dashboard, with its menu


def test_an_officer_without_a_device_sets_one_up_from_the_qr_page(world, page_for, settings):
    settings.OTP_REQUIRED = True
    page = page_for(width=390, height=844)
    log_in(page, "district", "pw-district")
    assert "/accounts/second-factor/setup/" in page.url
    qr = page.locator("main img")
    assert qr.evaluate("img => img.naturalWidth") > 0  # rendered by us, allowed by the CSP
    secret = page.locator("main code").inner_text().replace(" ", "")
    code = TOTP(base64.b32decode(secret)).token()
    page.fill("input[name=code]", f"{code:06d}")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".recovery-codes li").count() == 10
    page.click("main a.button")
    page.wait_for_load_state("networkidle")
    assert "/accounts/" not in page.url
    assert TOTPDevice.objects.filter(user=world.district, confirmed=True).count() == 1
