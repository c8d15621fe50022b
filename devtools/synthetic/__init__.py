"""Synthetic registries of any size, for benchmarks.

`generate(members=N, seed=S)` writes communes, villages, branches and members
with a true history: several official memberships each (closed ones with
their end reason, an open one), commune-office branches dissolved in April
2019 with their cadres moved to the branch of the village where they live,
members who left with a date and a reason. The proportions are a province's:
about 30 members per branch and 12 branches per commune.

Rows are built as tuples, commune by commune, and written in chunks so that
memory stays flat whatever N: with COPY (psycopg 3) on PostgreSQL and with
bulk_create on SQLite; never one save per row. Ids are assigned here (after
the largest existing ones) so that rows can point at each other before they
are written. simple-history rows are not written: synthetic data has no
history of edits, only the membership history that the registry itself keeps.

The same seed gives the same registry (the reference date is fixed, not
today), so benchmark figures are comparable between runs.
"""

from .generator import generate, is_empty
from .plan import BRANCHES_PER_COMMUNE, MEMBERS_PER_BRANCH, REFERENCE_DAY

__all__ = ["BRANCHES_PER_COMMUNE", "MEMBERS_PER_BRANCH", "REFERENCE_DAY", "generate", "is_empty"]
