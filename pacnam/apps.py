from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PacnamConfig(AppConfig):
    name = "pacnam"
    verbose_name = _("Registry")

    def ready(self):
        # Connects the audit trail to simple-history's post_create_historical_record.
        # Records at each sign-in whether the session still owes a second factor.
        from pacnam.audit import trail  # noqa: F401
        from pacnam.security import second_factor  # noqa: F401
