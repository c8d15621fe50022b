from django.urls import path

from pacnam.security import views as security_views

urlpatterns = [
    path("accounts/second-factor/", security_views.second_factor, name="second_factor"),
    path(
        "accounts/second-factor/setup/",
        security_views.second_factor_setup,
        name="second_factor_setup",
    ),
    path(
        "accounts/second-factor/recovery-codes/",
        security_views.recovery_codes,
        name="second_factor_recovery_codes",
    ),
    path("read-log/", security_views.read_log, name="read_log"),
]
