from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = _("Meetings")

    @property
    def migration_seeds(self) -> dict[str, list[dict]]:
        """The dues rates and shares that migration 0007 loads into every new
        database: registry_restore recognises them as the migration's own, not as
        registry data, and replaces them with the archive's (see BranchesConfig)."""
        import importlib
        from decimal import Decimal

        data = importlib.import_module("meetings.migrations.0007_dues_rates")
        rate, share = self.get_model("DuesRate"), self.get_model("DuesShare")

        def stored(model, field, value):
            # As the database gives it back (a DecimalField's places), for comparison.
            places = model._meta.get_field(field).decimal_places
            return Decimal(value).quantize(Decimal(1).scaleb(-places))

        rates = [
            {
                "category": category,
                "kind": kind,
                "value": stored(rate, "value", value),
                "valid_from": start,
                "valid_to": end,
                "source": source,
            }
            for rows, start, end, source in (
                (data.RATES_342, data.START_342, data.END_342, data.Q342),
                (data.RATES_01, data.START_01, None, data.Q01),
            )
            for category, kind, value, _confirmed, _note in rows
        ]
        shares = [
            {
                "level": level,
                "keep_percent": stored(share, "keep_percent", keep),
                "valid_from": start,
                "valid_to": end,
                "source": source,
            }
            for level, keep, start, end, source, _note in data.SHARES
        ]
        return {"meetings.duesrate": rates, "meetings.duesshare": shares}

    def ready(self):
        from members.io.extra_exports import register_export

        from .dues_selectors import dues_export_rows

        register_export("dues", dues_export_rows, personal=True)

        from .dues_import import register

        register()
