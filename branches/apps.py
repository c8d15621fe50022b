from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BranchesConfig(AppConfig):
    name = "branches"
    verbose_name = _("Communes, villages and branches")

    # The rows a new database gets from the migrations (0004_units_in_time makes
    # Bắc Kạn and Pác Nặm, the parents of the communes a district's registry
    # starts with). registry_restore recognises them as the migrations' own, not
    # as registry data, and replaces them with the archive's: {model label: the
    # rows, as field lookups -> values}.
    migration_seeds = {
        "branches.province": [
            {
                "code": "06",
                "name": "Bắc Kạn",
                "merged_into": None,
                "valid_from": None,
                "valid_to": None,
            },
        ],
        "branches.district": [
            {
                "code": "060",
                "name": "Pác Nặm",
                "province__code": "06",
                "valid_from": None,
                "valid_to": None,
            },
        ],
    }
