"""The proportions of a synthetic registry and its plan: how many of each, and
where the ids start (after the rows already there)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import models

from branches.models import (
    Commune,
    Province,
)
from members.models import (
    LeftReason,
    Member,
)

from . import writers

MEMBERS_PER_BRANCH = 30
VILLAGES_PER_COMMUNE = 10
# Ten village branches, the commune-office branch and a school branch.
BRANCHES_PER_COMMUNE = VILLAGES_PER_COMMUNE + 2
MEMBERS_PER_COMMUNE = MEMBERS_PER_BRANCH * BRANCHES_PER_COMMUNE
CADRES_PER_COMMUNE = 12
FOUNDED = datetime.date(1960, 1, 1)
FIRST_ADMISSION = datetime.date(1972, 1, 1)
# The policy of the story: commune-office branches dissolved from April 2019.
DISSOLUTION_DAY = datetime.date(2019, 4, 1)
OFFICE_DISSOLVED_SHARE = 0.9
# A fixed end of history, so that a seed always gives the same registry.
REFERENCE_DAY = datetime.date(2026, 6, 30)

# Transfers have a record (letter, receipt) from Quy định 29-QĐ/TW (2016) on;
# older moves are memberships only, as in a register typed in from paper.
TRANSFER_RECORDS_FROM = datetime.date(2016, 1, 1).toordinal()
# Members with a transfer under way (requested, or letter issued) on the reference day.
IN_PROGRESS_SHARE = 0.004
SYSTEM_USER = "synthetic-data"
LEFT_REASONS = [
    (LeftReason.DIED, 60),
    (LeftReason.TRANSFERRED_OUT, 30),
    (LeftReason.RESIGNED, 6),
    (LeftReason.REMOVED, 4),
]


@dataclass
class Plan:
    """How many of each, and where the ids start (after the rows already there)."""

    members: int
    seed: int
    communes: int = 0
    first_commune_code: int = 10000
    first_ids: dict = field(default_factory=dict)
    # The province the synthetic communes belong to: the registry's only one
    # (Bắc Kạn, from the migrations), made if there is none.
    province_id: int | None = None

    @classmethod
    def make(cls, members: int, seed: int) -> Plan:
        plan = cls(members=members, seed=seed)
        plan.communes = max(1, -(-members // MEMBERS_PER_COMMUNE))
        codes = [int(c) for c in Commune.objects.values_list("code", flat=True) if c.isdigit()]
        plan.first_commune_code = max([9999, *codes]) + 1
        if plan.first_commune_code + plan.communes > 100000:
            raise ValueError(
                "Commune codes have five digits: too many communes for the codes left."
            )
        for model in writers.MODELS:
            last = model.objects.aggregate(m=models.Max("pk"))["m"] or 0
            plan.first_ids[model] = last + 1
        last_cid = Member.objects.aggregate(m=models.Max("citizen_id"))["m"]
        plan.first_ids["citizen_id"] = int(last_cid) + 1 if last_cid else 1_000_000_000
        # Synthetic card numbers have ten digits; others' formats are left alone.
        last_card = Member.objects.filter(card_number__regex=r"^[0-9]{10}$").aggregate(
            m=models.Max("card_number")
        )["m"]
        plan.first_ids["card"] = int(last_card) + 1 if last_card else 1
        province = Province.objects.order_by("pk").first() or Province.objects.create(
            code="06", name="Bắc Kạn"
        )
        plan.province_id = province.pk
        return plan


# --- The generator ------------------------------------------------------------
