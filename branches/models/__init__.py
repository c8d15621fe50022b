"""The models of the branches app, one module per subject.

units            provinces, districts, communes, villages, branches, and the
                 dated periods that say which commune (or province) each was in
roles            who may see which units, for which days
reorganizations  communes merged on one date by one decision
"""

from .reorganizations import Reorganization
from .roles import Role, RoleKind
from .units import (
    Branch,
    BranchInCommune,
    BranchKind,
    Commune,
    CommuneInProvince,
    District,
    Province,
    Village,
    VillageInCommune,
    unit_label,
    valid_on_q,
)

__all__ = [
    "Branch",
    "BranchInCommune",
    "BranchKind",
    "Commune",
    "CommuneInProvince",
    "District",
    "Province",
    "Reorganization",
    "Role",
    "RoleKind",
    "Village",
    "VillageInCommune",
    "unit_label",
    "valid_on_q",
]
