"""makemessages that files each template's strings with its app.

Templates live in the top-level templates/<app>/ folder (STYLE.md), so Django
would put all their strings in one catalogue. We send templates/<app>/... to
<app>/locale instead, so each app owns its translations and two people working
on two apps never edit the same .po file.
"""

import os

from django.conf import settings
from django.core.management.commands import makemessages

APPS_WITH_LOCALE = ("branches", "members", "meetings")


class Command(makemessages.Command):
    def find_files(self, root):
        files = super().find_files(root)
        templates = os.path.join(str(settings.BASE_DIR), "templates")
        for app in APPS_WITH_LOCALE:
            app_templates = os.path.join(templates, app)
            app_locale = os.path.join(str(settings.BASE_DIR), app, "locale")
            for translatable in files:
                if os.path.abspath(translatable.dirpath).startswith(app_templates):
                    translatable.locale_dir = app_locale
        return files
