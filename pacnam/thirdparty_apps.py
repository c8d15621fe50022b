"""The third-party apps under names an office reads: the admin's index listed
"Otp_Static · Static devices", "Otp_Totp · TOTP devices" and "Tasks Database
Backend · Task Results", which no catalogue translates (django-otp's names are
plain strings). INSTALLED_APPS names these configs in place of the apps' own.

The models' names are set on `_meta` in `ready()`, not on their Meta: the
migration autodetector reads a model's original Meta (`original_attrs`), so the
apps' migrations stay as they are and `makemigrations --check` stays quiet.
"""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as OtpStaticAppConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as OtpTotpAppConfig
from django_tasks_db.apps import TasksAppConfig


def _name_models(app_config, names: dict) -> None:
    for model_name, (singular, plural) in names.items():
        opts = app_config.get_model(model_name)._meta
        opts.verbose_name, opts.verbose_name_plural = singular, plural


class OtpStaticConfig(OtpStaticAppConfig):
    verbose_name = _("Second factor: recovery codes")

    def ready(self):
        super().ready()
        _name_models(
            self,
            {
                "StaticDevice": (_("recovery code set"), _("recovery code sets")),
                "StaticToken": (_("recovery code"), _("recovery codes")),
            },
        )


class OtpTotpConfig(OtpTotpAppConfig):
    verbose_name = _("Second factor: authenticator apps")

    def ready(self):
        super().ready()
        _name_models(
            self, {"TOTPDevice": (_("authenticator app (TOTP)"), _("authenticator apps (TOTP)"))}
        )


class TasksDbConfig(TasksAppConfig):
    # django-tasks-db declares `verbose_name: str`; Django's AppConfig takes a lazy string.
    verbose_name = _("Background jobs")  # type: ignore[assignment]

    def ready(self):
        super().ready()
        _name_models(self, {"DBTaskResult": (_("background job"), _("background jobs"))})


class AxesConfig(AxesAppConfig):
    verbose_name = _("Sign-in attempts")
