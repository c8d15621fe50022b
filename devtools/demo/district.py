"""The demo district as it stood on 1 March 2019, before the commune-office
branches were dissolved (DOMAIN.md, "The story"): the first page of the demo's
story (devtools/demo/build.py tells the rest, to today).

Real: the district, its 10 communes and their official codes; Cốc Lải village
in Cao Tân; Khâu Slôm village in Giáo Hiệu (58 households, 305 people) and its
branch of 7 members with 3 Giáo Hiệu cadres living there; Lý Thị Huyền, Deputy
Secretary of the Cao Tân commune Party committee, who lives in Cốc Lải.

Synthetic: every other village ("Thôn Nà 3": a common Tày place-name prefix and
a number, so nobody takes them for real places), every other person, every
citizen ID and card number, every date. Generation is deterministic
(random.Random with a fixed seed), so two runs build the same district.

"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field

from branches.models import Branch, BranchKind, Commune, Village
from members.models import Member, Membership, MembershipKind, MemberStatus
from pacnam.lib.dates import add_months, add_years
from pacnam.lib.text import fold

D = datetime.date
SEED = 20190301
SNAPSHOT = D(2019, 3, 1)  # the registry as it stood before the April 2019 moves

# (code, name, number of villages, extra branches besides villages and office)
COMMUNES = [
    ("01858", "Bằng Thành", 14, ["school", "health"]),
    ("01861", "Nhạn Môn", 10, ["school", "health"]),
    ("01864", "Bộc Bố", 13, ["school", "health", "police"]),
    ("01867", "Công Bằng", 10, ["school", "health"]),
    ("01870", "Giáo Hiệu", 11, ["school", "health"]),
    ("01873", "Xuân La", 10, ["school", "health"]),
    ("01876", "An Thắng", 9, ["school", "health"]),
    ("01879", "Cổ Linh", 13, ["school", "health"]),  # one village has no branch (see below)
    ("01882", "Nghiên Loan", 13, ["school", "health"]),
    ("01885", "Cao Tân", 10, ["school", "health"]),
]
# 113 villages, 112 village branches, 10 office branches, 21 others: 143 branches.
TOTAL_BRANCHES = 143
# Cổ Linh's last village has no branch of its own: two office cadres live there,
# and one lives in Bộc Bố, so dissolving Cổ Linh's office branch needs decisions.
VILLAGE_WITHOUT_BRANCH = ("01879", 13)

PLACE_PREFIXES = [
    "Nà",
    "Khuổi",
    "Phiêng",
    "Pác",
    "Cốc",
    "Khâu",
    "Lủng",
    "Nặm",
    "Bản",
    "Slam",
    "Tổng",
    "Pù",
]

KIND_LABEL = {
    "school": "Chi bộ Trường PTDTBT TH&THCS",
    "health": "Chi bộ Trạm Y tế",
    "police": "Chi bộ Công an",
    "militia": "Chi bộ Quân sự",
}
KIND_CODE = {"school": "TH", "health": "YT", "police": "CA", "militia": "QS"}

CADRE_POSITIONS = [
    "Bí thư Đảng ủy xã",
    "Phó Bí thư Đảng ủy xã",
    "Chủ tịch UBND xã",
    "Phó Chủ tịch UBND xã",
    "Chủ tịch HĐND xã",
    "Chủ tịch Ủy ban MTTQ xã",
    "Chủ tịch Hội Phụ nữ xã",
    "Chủ tịch Hội Nông dân xã",
    "Chủ tịch Hội Cựu chiến binh xã",
    "Bí thư Đoàn Thanh niên xã",
    "Chỉ huy trưởng Quân sự xã",
    "Công chức Văn phòng - Thống kê",
    "Công chức Tư pháp - Hộ tịch",
    "Công chức Địa chính - Xây dựng",
    "Công chức Tài chính - Kế toán",
    "Công chức Văn hóa - Xã hội",
]
VILLAGE_POSITIONS = [
    "Bí thư chi bộ",
    "Trưởng thôn",
    "Nông dân",
    "Nông dân",
    "Nông dân",
    "Hưu trí",
    "Công an viên",
    "Y tế thôn bản",
]
OTHER_POSITIONS = {
    "school": ["Hiệu trưởng", "Phó Hiệu trưởng", "Giáo viên", "Giáo viên", "Giáo viên"],
    "health": ["Trưởng Trạm Y tế", "Y sĩ", "Điều dưỡng", "Nữ hộ sinh"],
    "police": ["Trưởng Công an xã", "Phó Trưởng Công an xã", "Cán bộ công an"],
    "militia": ["Chỉ huy phó Quân sự", "Dân quân thường trực"],
}

# Pác Nặm is mostly Dao, H'Mông and Tày, with Nùng and Kinh minorities.
ETHNIC_WEIGHTS = [("Dao", 34), ("H'Mông", 24), ("Tày", 28), ("Nùng", 8), ("Kinh", 6)]
SURNAMES = {
    "Tày": ["Hoàng", "Nông", "Ma", "Hà", "Lương", "Lý", "Đinh", "Hứa"],
    "Dao": ["Triệu", "Bàn", "Lý", "Đặng", "Phùng", "Chu"],
    "H'Mông": ["Giàng", "Vàng", "Thào", "Sùng", "Lý", "Mua", "Lầu"],
    "Nùng": ["Lục", "Lâm", "Hoàng", "Nông", "Lường"],
    "Kinh": ["Nguyễn", "Trần", "Lê", "Phạm", "Đỗ", "Vũ"],
}
GIVEN = {
    ("Tày", "male"): [
        "Mạnh",
        "Thắng",
        "Tuấn",
        "Cường",
        "Hùng",
        "Dũng",
        "Quân",
        "Thành",
        "Lâm",
        "Bình",
    ],
    ("Tày", "female"): [
        "Huyền",
        "Hoa",
        "Lan",
        "Thu",
        "Mai",
        "Hương",
        "Nhung",
        "Yến",
        "Liên",
        "Thảo",
    ],
    ("Dao", "male"): ["Páo", "Hin", "Quẩy", "Sếnh", "Chòi", "Vần", "Tòn", "Kiêm", "Phin", "Chàn"],
    ("Dao", "female"): ["Mây", "Kiều", "Sai", "Nhất", "Xiêm", "Mùi", "Chang", "Hòa", "Dung", "Vân"],
    ("H'Mông", "male"): ["Páo", "Chứ", "Sính", "Dình", "Lử", "Chá", "Nhìa", "Tủa", "Cở", "Súa"],
    ("H'Mông", "female"): ["Mỷ", "Dua", "Máy", "Sua", "Chứ", "Pà", "Dở", "Lử", "Say", "Chi"],
    ("Nùng", "male"): ["Vàng", "Sáng", "Tài", "Phúc", "Lợi", "Đức", "Khánh", "Vinh"],
    ("Nùng", "female"): ["Slao", "Nhình", "Hiền", "Tươi", "Loan", "Thơm", "Ngân", "Chuyên"],
    ("Kinh", "male"): ["Minh", "Hải", "Long", "Sơn", "Trung", "Nam", "Đức", "Việt"],
    ("Kinh", "female"): ["Hà", "Ngọc", "Phương", "Trang", "Hạnh", "Linh", "Nga", "Oanh"],
}


# The real people of the story: no synthetic namesake may be generated.
RESERVED_NAMES = {"Lý Thị Huyền"}


def person_name(rng: random.Random, ethnicity: str, gender: str) -> str:
    surname = rng.choice(SURNAMES[ethnicity])
    given = rng.choice(GIVEN[(ethnicity, gender)])
    if ethnicity == "H'Mông":
        middle = "A" if gender == "male" else "Thị"
        if gender == "male" and rng.random() < 0.5:
            middle = "Văn"
    elif ethnicity == "Dao" and gender == "male" and rng.random() < 0.4:
        middle = rng.choice(["Văn", "Đình", "Quang"])
    else:
        middle = "Văn" if gender == "male" else "Thị"
    return f"{surname} {middle} {given}"


@dataclass
class Person:
    full_name: str
    gender: str
    ethnicity: str
    village_code: str
    branch_code: str
    position: str = ""
    is_commune_cadre: bool = False
    full: bool = True
    exempt: bool = False


@dataclass
class DemoData:
    communes: list[Commune] = field(default_factory=list)
    villages: list[Village] = field(default_factory=list)
    branches: list[Branch] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)


def village_code(commune_code: str, number: int) -> str:
    return f"{commune_code}-{number:02d}"


def _village_name(commune_code: str, number: int) -> str:
    if commune_code == "01885" and number == 1:
        return "Cốc Lải"
    if commune_code == "01870" and number == 1:
        return "Khâu Slôm"
    prefix = PLACE_PREFIXES[(int(commune_code) + number) % len(PLACE_PREFIXES)]
    return f"Thôn {prefix} {number}"


def _branch_name(village_name: str) -> str:
    if village_name.startswith("Thôn "):
        village_name = village_name[len("Thôn ") :]
    return f"Chi bộ thôn {village_name}"


def plan_demo() -> DemoData:
    """The whole district in memory, unsaved, always the same."""
    rng = random.Random(SEED)
    data = DemoData()

    def ethnicity() -> str:
        names, weights = zip(*ETHNIC_WEIGHTS, strict=True)
        return rng.choices(names, weights)[0]

    def person(village: str, branch: str, **kw) -> Person:
        if "full_name" in kw:
            return Person(village_code=village, branch_code=branch, **kw)
        eth = kw.pop("ethnicity", None) or ethnicity()
        gender = kw.pop("gender", None) or rng.choice(["male", "male", "female"])
        name = kw.pop("full_name", None)
        while name is None or name in RESERVED_NAMES:
            name = person_name(rng, eth, gender)
        return Person(
            full_name=name,
            gender=gender,
            ethnicity=eth,
            village_code=village,
            branch_code=branch,
            **kw,
        )

    for code, name, n_villages, extras in COMMUNES:
        commune = Commune(code=code, name=name)
        data.communes.append(commune)
        founded = D(rng.randint(1962, 1972), rng.randint(1, 12), 1)
        branched_villages = []
        for number in range(1, n_villages + 1):
            households = rng.randint(35, 140)
            population = households * rng.randint(4, 6) + rng.randint(0, 5)
            if (code, number) == ("01870", 1):
                households, population = 58, 305
            village = Village(
                commune=commune,
                code=village_code(code, number),
                name=_village_name(code, number),
                households=households,
                population=population,
            )
            data.villages.append(village)
            if (code, number) == VILLAGE_WITHOUT_BRANCH:
                continue
            branch = Branch(
                commune=commune,
                village=village,
                kind=BranchKind.VILLAGE,
                code=f"{code}-T{number:02d}",
                name=_branch_name(village.name),
                founded_on=founded,
            )
            data.branches.append(branch)
            branched_villages.append(village)
        office = Branch(
            commune=commune,
            kind=BranchKind.COMMUNE_OFFICE,
            code=f"{code}-CQ",
            name=f"Chi bộ cơ quan xã {name}",
            founded_on=founded,
        )
        data.branches.append(office)
        seen: dict[str, int] = {}
        for extra in extras:
            seen[extra] = seen.get(extra, 0) + 1
            suffix = f"{KIND_CODE[extra]}{seen[extra]}"
            label = KIND_LABEL[extra] + (f" số {seen[extra]}" if extras.count(extra) > 1 else "")
            data.branches.append(
                Branch(
                    commune=commune,
                    kind=extra,
                    code=f"{code}-{suffix}",
                    name=f"{label} xã {name}",
                    founded_on=D(rng.randint(1985, 2005), 1, 1),
                )
            )

        # Village branches: the people who live there.
        for village in branched_villages:
            branch_code = f"{code}-T{int(village.code[-2:]):02d}"
            size = 7 if village.name == "Khâu Slôm" else rng.randint(8, 19)
            for index in range(size):
                data.people.append(
                    person(
                        village.code,
                        branch_code,
                        position=VILLAGE_POSITIONS[index]
                        if index < 2
                        else rng.choice(VILLAGE_POSITIONS[2:]),
                        full=index < 3 or rng.random() > 0.07,
                        exempt=index >= 3 and rng.random() < 0.04,
                    )
                )
        # School, health, police and militia branches: staff living around the commune.
        for branch in data.branches:
            if branch.commune is not commune or branch.kind not in OTHER_POSITIONS:
                continue
            for index in range(rng.randint(4, 9)):
                positions = OTHER_POSITIONS[branch.kind]
                data.people.append(
                    person(
                        rng.choice(branched_villages).code,
                        branch.code,
                        position=positions[min(index, len(positions) - 1)],
                        full=index < 3 or rng.random() > 0.1,
                    )
                )

        # The commune-office branch: the commune cadres and civil servants.
        cadre_count = rng.randint(12, len(CADRE_POSITIONS))
        homes = list(branched_villages)
        special_villages = {"01885": "Cốc Lải", "01870": "Khâu Slôm"}
        if code in special_villages:
            # Exactly the cadres of the story live in Cốc Lải / Khâu Slôm.
            homes = [v for v in homes if v.name != special_villages[code]]
        for index in range(cadre_count):
            home = rng.choice(homes).code
            kw = {}
            if code == "01885" and index in (1, 5):
                home = village_code(code, 1)  # Cốc Lải
                if index == 1:
                    kw = {"full_name": "Lý Thị Huyền", "gender": "female", "ethnicity": "Dao"}
            if code == "01870" and index in (2, 6, 9):
                home = village_code(code, 1)  # Khâu Slôm
            if code == "01879" and index in (3, 7):
                home = village_code(*VILLAGE_WITHOUT_BRANCH)
            if code == "01879" and index == 10:
                home = village_code("01864", 2)  # lives in Bộc Bố, the district seat
            if CADRE_POSITIONS[index] == "Chủ tịch Hội Phụ nữ xã":
                kw.setdefault("gender", "female")
            data.people.append(
                person(
                    home,
                    office.code,
                    position=CADRE_POSITIONS[index],
                    is_commune_cadre=True,
                    full=index < 10 or rng.random() > 0.2,
                    **kw,
                )
            )
    assert len(data.branches) == TOTAL_BRANCHES, len(data.branches)
    return data


def citizen_id(serial: int, birth: datetime.date, gender: str) -> str:
    # 006 = Bắc Kạn; then the century-and-gender digit, the year of birth, a serial.
    century_gender = (0 if birth.year < 2000 else 2) + (1 if gender == "female" else 0)
    return f"006{century_gender}{birth.year % 100:02d}{serial:06d}"


def members_2019(data: DemoData, villages: dict[str, Village], branches: dict[str, Branch]):
    """Member and Membership rows (unsaved) with dates that keep every rule."""
    rng = random.Random(SEED + 1)
    members, memberships = [], []
    for serial, person in enumerate(data.people, start=1):
        branch = branches[person.branch_code]
        if person.full:
            admitted = D(
                rng.randint(max(branch.founded_on.year + 1, 1978), 2017),
                rng.randint(1, 12),
                rng.randint(1, 28),
            )
            full_on = add_months(admitted, 12) + datetime.timedelta(days=rng.randint(0, 45))
            card = f"{60_000_000 + serial:08d}"
        else:
            # Probationary: admitted in the twelve months before March 2019.
            admitted = SNAPSHOT - datetime.timedelta(days=rng.randint(20, 330))
            full_on, card = None, ""
        age_at_admission = rng.randint(19, 38)
        birth = add_years(admitted, -age_at_admission) - datetime.timedelta(
            days=rng.randint(0, 300)
        )
        if person.exempt:
            # Exemption is for age: an old member, admitted long ago.
            birth = D(rng.randint(1938, 1946), rng.randint(1, 12), rng.randint(1, 28))
            admitted = add_years(birth, rng.randint(20, 30))
            admitted = max(admitted, D(branch.founded_on.year + 1, 1, 1))
            full_on = add_months(admitted, 12)
        member = Member(
            citizen_id=citizen_id(serial, birth, person.gender),
            full_name=person.full_name,
            folded_name=fold(person.full_name),  # bulk_create skips Member.save
            gender=person.gender,
            birth_date=birth,
            ethnicity=person.ethnicity,
            residence_village=villages[person.village_code],
            position=person.position,
            is_commune_cadre=person.is_commune_cadre,
            admitted_on=admitted,
            full_on=full_on,
            card_number=card,
            status=MemberStatus.EXEMPT if person.exempt else MemberStatus.ACTIVE,
            branch=branch,
        )
        members.append(member)
        memberships.append(
            Membership(
                member=member, branch=branch, kind=MembershipKind.OFFICIAL, started_on=admitted
            )
        )
    return members, memberships
