from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = _("Meetings")

    def ready(self):
        from members.io.extra_exports import register_export

        from .dues_selectors import dues_export_rows

        register_export("dues", dues_export_rows, personal=True)
