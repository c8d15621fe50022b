"""One shared test world, as healthchecks' hc/test.py: two communes, their
villages and branches, a few members, and a user for every role, including
an outsider (the secretary of the other commune) who must get 404s.

Plain factory functions (`make_member`, ...) are enough; fixtures wrap them.
"""

import datetime
import itertools

import pytest
from django.contrib.auth import get_user_model

from branches.models import Branch, BranchKind, Commune, District, Province, Role, RoleKind, Village
from members.models import Member
from members.services.members import member_create

_seq = itertools.count(1)

D = datetime.date
MARCH_2019 = D(2019, 3, 1)


def pac_nam() -> District:
    """Bắc Kạn province and Pác Nặm district as they were before 2025: the parents
    of the test world's communes (a new commune joins the only province and
    district of its day, as in a district's registry)."""
    province = Province.objects.filter(code="06").first() or Province.objects.create(
        code="06", name="Bắc Kạn"
    )
    return District.objects.filter(code="060").first() or District.objects.create(
        code="060", name="Pác Nặm", province=province
    )


def make_commune(code=None, name="Xã Thử", **kw) -> Commune:
    pac_nam()
    return Commune.objects.create(code=code or f"9{next(_seq):04d}", name=name, **kw)


def make_village(commune, name="Thôn Thử", code=None, **kw) -> Village:
    return Village.objects.create(
        commune=commune, code=code or f"V{next(_seq):05d}", name=name, **kw
    )


def make_branch(
    commune, kind=BranchKind.VILLAGE, village=None, name=None, code=None, **kw
) -> Branch:
    if kind == BranchKind.VILLAGE and village is None:
        village = make_village(commune)
    return Branch.objects.create(
        commune=commune,
        kind=kind,
        village=village,
        code=code or f"B{next(_seq):05d}",
        name=name or f"Chi bộ {village.name if village else kind}",
        founded_on=kw.pop("founded_on", D(2000, 1, 1)),
        **kw,
    )


def make_member(branch, village=None, name="Nguyễn Văn Thử", since=None, **kw) -> Member:
    n = next(_seq)
    defaults = dict(
        citizen_id=f"{n:012d}",
        full_name=name,
        gender="male",
        birth_date=D(1980, 1, 1),
        ethnicity="Tày",
        admitted_on=D(2005, 5, 19),
        full_on=D(2006, 5, 19),
    )
    defaults.update(kw)
    member = Member(
        residence_village=village or branch.village or make_village(branch.commune), **defaults
    )
    return member_create(member=member, branch=branch, since=since)


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """The tests' oracle for pacnam.lib.dates.add_working_days: working days after `start`
    up to and including `end`, counted one day at a time."""
    from pacnam.lib.dates import is_working_day

    return sum(
        1
        for n in range(1, (end - start).days + 1)
        if is_working_day(start + datetime.timedelta(days=n))
    )


def make_user(
    username,
    kind=None,
    commune=None,
    branch=None,
    superuser=False,
    district=None,
    province=None,
    **role,
):
    User = get_user_model()
    user = User.objects.create_user(username=username, password="pw-" + username)
    if superuser:
        user.is_superuser = user.is_staff = True
        user.save()
    if kind == RoleKind.DISTRICT_OFFICER and district is None:
        district = pac_nam()
    if kind:
        Role.objects.create(
            user=user,
            kind=kind,
            commune=commune,
            branch=branch,
            district=district,
            province=province,
            **role,
        )
    return user


def pytest_configure(config):
    from django.conf import settings

    # PBKDF2 costs half a second per user; tests need logins, not strong hashes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class World:
    """The shared world. Attributes are documented where they are made."""


@pytest.fixture
def world(db):
    w = World()
    # Commune A (ours) and commune B (the outsider's).
    w.commune = make_commune("01885", "Cao Tân")
    w.other_commune = make_commune("01870", "Giáo Hiệu")
    w.village = make_village(w.commune, "Cốc Lải", households=60, population=300)
    w.village2 = make_village(w.commune, "Nà Khâu")
    w.other_village = make_village(w.other_commune, "Khâu Slôm", households=58, population=305)
    w.branch = make_branch(w.commune, village=w.village, name="Chi bộ thôn Cốc Lải")
    w.branch2 = make_branch(w.commune, village=w.village2, name="Chi bộ thôn Nà Khâu")
    w.office = make_branch(
        w.commune, kind=BranchKind.COMMUNE_OFFICE, name="Chi bộ cơ quan xã Cao Tân"
    )
    w.other_branch = make_branch(
        w.other_commune, village=w.other_village, name="Chi bộ thôn Khâu Slôm"
    )
    w.member = make_member(w.branch, name="Hoàng Văn Mạnh")
    w.cadre = make_member(
        w.office,
        village=w.village,
        name="Lý Thị Huyền",
        gender="female",
        is_commune_cadre=True,
        position="Phó Bí thư Đảng ủy xã",
    )
    w.other_member = make_member(w.other_branch, name="Triệu Văn Páo", ethnicity="Dao")
    # Users: one per role, and the outsider.
    w.admin = make_user("admin", superuser=True)
    w.district = make_user("district", RoleKind.DISTRICT_OFFICER)
    w.secretary = make_user("caotan", RoleKind.COMMUNE_SECRETARY, commune=w.commune)
    w.branch_secretary = make_user("coclai", RoleKind.BRANCH_SECRETARY, branch=w.branch)
    w.outsider = make_user("giaohieu", RoleKind.COMMUNE_SECRETARY, commune=w.other_commune)
    w.nobody = make_user("nobody")
    # Roles in time (issue 13): the province's officer, and our commune's former
    # secretary, whose role ended in 2020 (they see nothing now).
    w.province = make_user("province", RoleKind.PROVINCE_OFFICER, province=pac_nam().province)
    w.retired = make_user(
        "retired",
        RoleKind.COMMUNE_SECRETARY,
        commune=w.commune,
        valid_from=D(2019, 1, 1),
        valid_to=D(2020, 12, 31),
    )
    return w


ROLES = ["admin", "district", "secretary", "branch_secretary", "outsider", "nobody", "anonymous"]


@pytest.fixture
def login(client):
    """login(user_or_None) -> a client logged in as that user (None: anonymous)."""

    def _login(user):
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return _login
