"""Login throttling: django-axes per username and address, plus per address.

axes locks a (username, address) pair after AXES_FAILURE_LIMIT failures; a
password-spraying attempt that tries a few passwords on each of many
usernames from one address never reaches that. This handler also locks the
address once AXES_IP_FAILURE_LIMIT failures from it, across all usernames,
fall within the cool-off time (axes itself has one limit for every lockout
parameter, and one limit would lock a whole commune office behind its shared
address after a few typos).

The address is the client's real one (`client_address`): behind the README's
nginx every request comes from the proxy, and counting the proxy's address
let twenty failures with made-up user names lock every user out.
"""

import ipaddress

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXIES)


def client_address(request) -> str | None:
    """The client's address: X-Forwarded-For is read only when the request
    comes from a configured proxy (TRUSTED_PROXIES), and only up to the first
    hop that is not one; anyone else could write any address there."""
    address = request.META.get("REMOTE_ADDR")
    if not address or not _trusted(address):
        return address
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return address  # a malformed hop: count the proxy, never a made-up value
        address = hop
    return address


class LockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        failures = super().get_failures(request, credentials)
        address = getattr(request, "axes_ip_address", None)
        if not address:
            return failures
        attempts = AccessAttempt.objects.filter(ip_address=address)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        from_address = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
        if from_address >= settings.AXES_IP_FAILURE_LIMIT:
            # Reported as the per-user limit reached: axes then locks this request out.
            return max(failures, get_failure_limit(request, credentials))
        return failures
