"""The demo district: Pác Nặm's story from March 2019 to today (DOMAIN.md, "The story").

Real: the district, its 10 communes and their official codes; the dissolution of
every commune-office branch from April 2019; Cốc Lải village in Cao Tân; Khâu
Slôm village in Giáo Hiệu (58 households, 305 people) and its branch of 7
members with 3 Giáo Hiệu cadres living there; Lý Thị Huyền, Deputy Secretary of
the Cao Tân commune Party committee, who lives in Cốc Lải; the reorganisation
of 1 July 2025 (branches/data/reorganization-2025-pac-nam.csv) that made the ten
communes three, in Thái Nguyên province.

Synthetic: every other village, person, citizen ID, card number, date, meeting,
candidate, transfer and rating. Generation is deterministic (random.Random with
fixed seeds): two runs on the same day build the same registry.

    district.py   the registry on 1 March 2019
    build.py      the story's pages in order: dissolutions, years, reorganisation, meetings, roles
    story.py      the people's years: admissions, probations, deaths, ratings
    transfers.py  transfers and their letters
    meetings.py   monthly and thematic meetings, their roll, tasks and reviews
"""

from .build import (
    DEMO_PASSWORD,
    DEMO_USERS,
    REORGANIZATION_DECISION,
    REORGANIZED_ON,
    DemoBuilder,
    demo_loaded,
)

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "REORGANIZATION_DECISION",
    "REORGANIZED_ON",
    "DemoBuilder",
    "demo_loaded",
]
