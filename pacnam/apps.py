from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PacnamConfig(AppConfig):
    name = "pacnam"
    verbose_name = _("Registry")
