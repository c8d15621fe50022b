"""python manage.py seed_demo [--force] [--if-empty]

Loads the demo district (devtools/demo/): Pác Nặm's story from March 2019 to
today, through the 2025 reorganisation. Only into an empty registry; a second
run says nothing changed.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import Branch, Commune
from devtools.demo import (
    DEMO_PASSWORD,
    DEMO_USERS,
    REORGANIZATION_DECISION,
    REORGANIZED_ON,
    DemoBuilder,
    demo_loaded,
)
from meetings.models import Meeting
from members.models import Candidate, Member, Transfer


class Command(BaseCommand):
    help = "Load the demo district of Pác Nặm (March 2019 to today). Development and demonstrations only."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if any commune exists."
        )

    def handle(self, *args, force: bool, if_empty: bool, **options):
        if not settings.DEBUG and not force:
            # Demo users have the password "demo": never by accident on a real server.
            raise CommandError(
                _(
                    "seed_demo refuses to run with DEBUG off: it creates users whose password is "
                    "'demo'. Use DEBUG=1, or --force if you really mean it."
                )
            )
        if Commune.objects.exists():
            if if_empty:
                self.stdout.write(
                    _("The database already has communes: the demo district was not loaded.")
                )
            elif demo_loaded():
                self.stdout.write(_("The demo district is already loaded: nothing changed."))
            else:
                raise CommandError(
                    _(
                        "The database already has other communes: the demo district tells its story from "
                        "2019 only in an empty registry."
                    )
                )
            return
        with transaction.atomic():
            created = DemoBuilder().build()
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Demo district loaded, from March 2019 to %(today)s: %(communes)d communes, %(branches)d branches, "
                    "%(members)d members, %(meetings)d meetings, %(candidates)d candidates, %(transfers)d transfers; "
                    "the communes reorganised on %(reorganized)s (%(decision)s); %(users)d users created."
                )
                % {
                    "today": timezone.localdate().strftime("%d/%m/%Y"),
                    "communes": Commune.objects.count(),
                    "branches": Branch.objects.count(),
                    "members": Member.objects.count(),
                    "meetings": Meeting.objects.count(),
                    "candidates": Candidate.objects.count(),
                    "transfers": Transfer.objects.count(),
                    "reorganized": REORGANIZED_ON.strftime("%d/%m/%Y"),
                    "decision": REORGANIZATION_DECISION,
                    "users": created["users"],
                }
            )
        )
        if created["users"]:
            names = ", ".join(user[0] for user in DEMO_USERS)
            self.stdout.write(
                _("Demo logins (password '%(password)s'): %(names)s.")
                % {"password": DEMO_PASSWORD, "names": names}
            )
