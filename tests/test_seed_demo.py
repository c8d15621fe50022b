import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import translation

from branches.access import scope_for
from branches.models import Branch, BranchKind, Commune
from members.models import Member, Membership

OFFICIAL_CODES = {
    "01858", "01861", "01864", "01867", "01870", "01873", "01876", "01879", "01882", "01885",
}


def authenticate(username: str, password: str):
    user = get_user_model().objects.get(username=username)
    return user if user.check_password(password) else None


def seed(*args) -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        seed()
    assert not Commune.objects.exists()


@pytest.mark.django_db
def test_seed_demo_builds_pac_nam_in_march_2019_and_is_idempotent(settings):
    settings.DEBUG = True
    first = seed()
    assert "143 branches" in first
    counts = (Commune.objects.count(), Branch.objects.count(), Member.objects.count(), Membership.objects.count())

    assert set(Commune.objects.values_list("code", flat=True)) == OFFICIAL_CODES
    assert Branch.objects.count() == 143
    assert Branch.objects.filter(kind=BranchKind.COMMUNE_OFFICE).count() == 10
    assert Branch.objects.filter(kind=BranchKind.COMMUNE_OFFICE).values("commune").distinct().count() == 10
    assert 1500 <= Member.objects.count() <= 2500

    khau_slom = Branch.objects.get(kind=BranchKind.VILLAGE, village__name="Khâu Slôm")
    assert (khau_slom.village.households, khau_slom.village.population) == (58, 305)
    assert Member.objects.filter(branch=khau_slom).count() == 7
    office = Branch.objects.get(commune__code="01870", kind=BranchKind.COMMUNE_OFFICE)
    movers = Member.objects.filter(branch=office, residence_village=khau_slom.village)
    assert movers.count() == 3
    assert all(m.is_commune_cadre for m in movers)

    huyen = Member.objects.get(full_name="Lý Thị Huyền")
    assert huyen.position == "Phó Bí thư Đảng ủy xã"
    assert huyen.residence_village.name == "Cốc Lải"
    assert huyen.branch.kind == BranchKind.COMMUNE_OFFICE and huyen.branch.commune.name == "Cao Tân"
    assert Member.objects.filter(branch=huyen.branch, residence_village__name="Cốc Lải").count() == 2

    # Every branch could meet: at least 3 full members; probationary members exist.
    for branch in Branch.objects.all():
        assert Member.objects.filter(branch=branch, full_on__isnull=False).count() >= 3, branch
    assert Member.objects.filter(full_on__isnull=True).exists()
    assert not Member.objects.filter(full_on__isnull=True).exclude(card_number="").exists()
    assert set(Member.objects.values_list("ethnicity", flat=True)) == {"Tày", "Dao", "H'Mông", "Nùng", "Kinh"}
    # The rules a form would check hold for every generated member.
    for member in Member.objects.all():
        member.full_clean(exclude=["branch"], validate_unique=False)

    # The demo logins work and see what their role sees.
    assert authenticate(username="admin", password="demo").is_superuser
    district = authenticate(username="district", password="demo")
    assert scope_for(district).branches().count() == 143
    caotan = authenticate(username="caotan", password="demo")
    assert set(scope_for(caotan).communes().values_list("name", flat=True)) == {"Cao Tân"}
    khauslom = authenticate(username="khauslom", password="demo")
    assert list(scope_for(khauslom).branches()) == [khau_slom]
    assert authenticate(username="giaohieu", password="demo") is not None

    second = seed()
    assert "nothing changed" in second
    assert counts == (Commune.objects.count(), Branch.objects.count(), Member.objects.count(), Membership.objects.count())


@pytest.mark.django_db
def test_seed_demo_if_empty_leaves_an_existing_registry_alone(settings):
    settings.DEBUG = True
    Commune.objects.create(code="01885", name="Cao Tân")
    output = seed("--if-empty")
    assert "not loaded" in output
    assert Commune.objects.count() == 1 and not Branch.objects.exists()


@pytest.mark.django_db
def test_seed_demo_force_runs_with_debug_off(settings):
    settings.DEBUG = False
    seed("--force")
    assert Branch.objects.count() == 143
