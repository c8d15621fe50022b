"""python manage.py seed_demo [--force] [--if-empty]

Loads the demo district (members/demo.py): Pác Nặm in March 2019. Idempotent:
only what is missing is created, and a second run says nothing changed.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from branches.models import Commune
from devtools.demo import DEMO_PASSWORD, DEMO_USERS, build_demo


class Command(BaseCommand):
    help = "Load the demo district of Pác Nặm (March 2019). Development and demonstrations only."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if any commune exists.")

    def handle(self, *args, force: bool, if_empty: bool, **options):
        if not settings.DEBUG and not force:
            # Demo users have the password "demo": never by accident on a real server.
            raise CommandError(_(
                "seed_demo refuses to run with DEBUG off: it creates users whose password is "
                "'demo'. Use DEBUG=1, or --force if you really mean it."
            ))
        if if_empty and Commune.objects.exists():
            self.stdout.write(_("The database already has communes: the demo district was not loaded."))
            return
        created = build_demo()
        if not any(created.values()):
            self.stdout.write(_("The demo district is already loaded: nothing changed."))
            return
        self.stdout.write(self.style.SUCCESS(_(
            "Demo district loaded: %(communes)d communes, %(villages)d villages, %(branches)d branches, "
            "%(members)d members, %(memberships)d memberships, %(users)d users created."
        ) % created))
        if created["users"]:
            names = ", ".join(user[0] for user in DEMO_USERS)
            self.stdout.write(_("Demo logins (password '%(password)s'): %(names)s.") % {"password": DEMO_PASSWORD, "names": names})
