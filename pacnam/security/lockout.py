"""Login throttling: django-axes per username and address, plus per address.

axes locks a (username, address) pair after AXES_FAILURE_LIMIT failures; a
password-spraying attempt that tries a few passwords on each of many
usernames from one address never reaches that. This handler also locks the
address once AXES_IP_FAILURE_LIMIT failures from it, across all usernames,
fall within the cool-off time (axes itself has one limit for every lockout
parameter, and one limit would lock a whole commune office behind its shared
address after a few typos).
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


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
