"""The sign-in lockout behind a proxy: it counts the client's own address,
taken from X-Forwarded-For only when the request comes from a configured proxy."""

import ipaddress

import pytest
from django.test import RequestFactory

from pacnam.security.lockout import client_address

LOGIN = "/accounts/login/"
PROXY = "10.0.0.5"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]


def via_proxy(client_ip):
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": client_ip}


def test_twenty_failures_with_made_up_names_behind_the_proxy_lock_no_real_user_out(
    world, client, behind_proxy
):
    stranger = via_proxy("203.0.113.9")
    for n in range(20):
        client.post(LOGIN, {"username": f"made-up-{n}", "password": "x"}, **stranger)
    locked = client.post(LOGIN, {"username": "made-up-99", "password": "x"}, **stranger)
    assert locked.status_code in (403, 429)  # the stranger locks out only himself
    ok = client.post(
        LOGIN, {"username": "district", "password": "pw-district"}, **via_proxy("198.51.100.7")
    )
    assert ok.status_code == 302


def test_without_the_proxy_trusted_the_forwarded_address_is_ignored(world, client, settings):
    settings.TRUSTED_PROXIES = []
    settings.AXES_IP_FAILURE_LIMIT = 6
    for n in range(6):
        # A client writing a fresh X-Forwarded-For each time is still one address.
        client.post(
            LOGIN,
            {"username": f"made-up-{n}", "password": "x"},
            REMOTE_ADDR="192.0.2.1",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
    locked = client.post(
        LOGIN, {"username": "district", "password": "pw-district"}, REMOTE_ADDR="192.0.2.1"
    )
    assert locked.status_code in (403, 429)


def test_per_user_name_still_counts_behind_the_proxy(world, client, behind_proxy, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            LOGIN, {"username": "district", "password": "wrong"}, **via_proxy("203.0.113.9")
        )
    again = client.post(
        LOGIN, {"username": "district", "password": "pw-district"}, **via_proxy("203.0.113.9")
    )
    assert again.status_code in (403, 429)


@pytest.mark.parametrize(
    "remote,forwarded,expected",
    [
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the leftmost is the client's claim
        ("10.0.0.5", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # two proxies
        ("10.0.0.5", "not-an-ip", "10.0.0.5"),
        ("10.0.0.5", "", "10.0.0.5"),
        ("192.0.2.1", "203.0.113.9", "192.0.2.1"),  # not a proxy: its header is ignored
    ],
)
def test_client_address(behind_proxy, remote, forwarded, expected):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected
