"""The units of the Party organisation in time: provinces, districts, communes,
villages and branches.

Administrative units change (on 1 July 2025 districts were abolished and communes
merged, DOMAIN.md), and a code passes from one unit to another: 01864 is Bộc Bố
until 30/06/2025 and Bằng Thành from 01/07/2025. So every unit has a validity
(`valid_from`, `valid_to`: both days included, open when empty), a code is
unique only among the units valid on the same day, and every lookup by code
takes a date (`by_code(code, on)`).

A village or a branch lives on when its commune merges: the commune it belongs
to is dated too (VillageInCommune, BranchInCommune), and `Village.commune` /
`Branch.commune` is the commune of its latest period, kept by the services in
the same transaction. Rosters of a past date read the dated periods, so a merger
never rewrites the commune a 2019 roster was in.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from pacnam.lib.dates import dmy
from pacnam.lib.text import clean_name


def _validity_in_order(prefix: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(valid_to__isnull=True)
        | Q(valid_from__isnull=True)
        | Q(valid_to__gte=F("valid_from")),
        name=f"{prefix}_validity_in_order",
    )


def _one_period_at_a_time(unit: str) -> list:
    """A village's or a branch's periods in its communes: in order, at most one
    open, no two beginning on the same day (overlaps are the services' to refuse)."""
    return [
        _validity_in_order(f"{unit}_commune"),
        models.UniqueConstraint(
            fields=[unit], condition=Q(valid_to__isnull=True), name=f"{unit}_commune_open_once"
        ),
        models.UniqueConstraint(fields=[unit, "valid_from"], name=f"{unit}_commune_starts_once"),
    ]


def valid_on_q(date: datetime.date | F, prefix: str = "") -> tuple[Q, Q]:
    """Valid on `date`: started on or before it (or always), not ended before it.
    `prefix` reaches a related unit's dates ("commune_periods__"); `date` may be a
    column's (OuterRef("admitted_on"))."""
    started = Q(**{f"{prefix}valid_from__isnull": True}) | Q(**{f"{prefix}valid_from__lte": date})
    not_ended = Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": date})
    return started, not_ended


class ValidityQuerySet(models.QuerySet):
    def valid_on(self, date: datetime.date | None = None):
        """Units that exist on `date` (today by default)."""
        return self.filter(*valid_on_q(date or timezone.localdate()))

    def by_code(self, code: str, on: datetime.date | None = None):
        """The unit that bore `code` on `on` (today by default), or None."""
        return self.valid_on(on).filter(code=code).first()

    def last_by_code(self, code: str, on: datetime.date | None = None):
        """The unit that bore `code` on `on`, else the last one that bore it before:
        a ceased commune's page stays reachable by its code."""
        on = on or timezone.localdate()
        return (
            self.filter(code=code)
            .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on))
            .order_by(F("valid_to").desc(nulls_first=True), "-valid_from", "-pk")
            .first()
        )


def unit_label(unit, commune=None) -> str:
    """How a village or a branch is shown wherever it is chosen or listed: its name,
    code and commune ("Chi bộ thôn Bản 1 · 01879-T01 · Cao Minh"). Names repeat
    (after 2025 Cao Minh has two "Chi bộ thôn Bản 1"), codes do not on one day.
    The commune is `commune` (a name or a unit), else the one a query annotated as
    `commune_then_name` (the commune of the day the page is about), else its
    commune now (select_related it)."""
    if commune is None:
        commune = getattr(unit, "commune_then_name", None) or unit.commune
    return " · ".join(str(part) for part in (unit.name, unit.code, commune) if part)


class Validity(models.Model):
    """The dates a unit exists: both days included; empty means since always or
    still. The ending of a unit is a decision (a merger, a split), recorded by the
    reorganisation that ended it."""

    # Every concrete unit has them (its own field, with its own label).
    code: str
    name: str

    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(
        _("valid until"),
        null=True,
        blank=True,
        help_text=_(
            "The last day it existed, for example the day before it merged into another commune."
        ),
    )

    objects = ValidityQuerySet.as_manager()

    class Meta:
        abstract = True

    def is_valid_on(self, date: datetime.date) -> bool:
        return (self.valid_from is None or self.valid_from <= date) and (
            self.valid_to is None or self.valid_to >= date
        )

    @property
    def has_ceased(self) -> bool:
        return self.valid_to is not None and self.valid_to < timezone.localdate()

    def check_code_free(self) -> None:
        """A code is unique among units valid on the same day (ValidationError otherwise)."""
        # Q, not a keyword: the code is the concrete unit's field, not this base's.
        others = type(self)._default_manager.filter(Q(code=self.code)).exclude(pk=self.pk)
        if self.valid_to is not None:
            others = others.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=self.valid_to))
        if self.valid_from is not None:
            others = others.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=self.valid_from))
        clash = others.first()
        if clash is not None:
            raise ValidationError(
                {
                    "code": _("The code %(code)s is borne by %(name)s on some of these days.")
                    % {"code": self.code, "name": clash.name}
                }
            )


class Province(Validity):
    """A province (tỉnh). Its Party committee's organisation board (Ban Tổ chức
    Tỉnh ủy) oversees the commune Party committees from 1 July 2025."""

    code = models.CharField(_("official code"), max_length=2)
    name = models.CharField(_("name"), max_length=100)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("province")
        verbose_name_plural = _("provinces")
        ordering = ["code", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{2}$"), name="province_code_two_digits"
            ),
            _validity_in_order("province"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(valid_to__isnull=True), name="province_code_open_once"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class District(Validity):
    """A district (huyện), abolished on 1 July 2025: its records stay for the
    years it existed."""

    code = models.CharField(_("official code"), max_length=3)
    name = models.CharField(_("name"), max_length=100)
    province = models.ForeignKey(
        Province, verbose_name=_("province"), on_delete=models.PROTECT, related_name="districts"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["code", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{3}$"), name="district_code_three_digits"
            ),
            _validity_in_order("district"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(valid_to__isnull=True), name="district_code_open_once"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Commune(Validity):
    code = models.CharField(_("official code"), max_length=5)
    name = models.CharField(_("name"), max_length=100)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
    )
    history = HistoricalRecords()
    # Set by the creator of a new commune, read by save(): the province (and district)
    # of its first period. Only declared here: an unset one reads as absent (getattr).
    place_in: tuple[Province, District | None]

    class Meta:
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        ordering = ["code", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{5}$"), name="commune_code_five_digits"
            ),
            _validity_in_order("commune"),
            # Two communes bear one code only one after the other: at most one of
            # them is open, and no two begin on the same day. (Overlapping closed
            # periods are refused by Validity.check_code_free in the services.)
            models.UniqueConstraint(
                fields=["code"], condition=Q(valid_to__isnull=True), name="commune_code_open_once"
            ),
            models.UniqueConstraint(fields=["code", "valid_from"], name="commune_code_starts_once"),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | Q(valid_to__isnull=False),
                name="commune_merged_has_ended",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name = clean_name(self.name)  # NFC, trimmed, Đ not Ð
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            # A new commune's first period in its province (and district): the one
            # its creator named in `place_in`, else the only one of its day.
            place_in = getattr(self, "place_in", None)
            if place_in is not None:
                CommuneInProvince.objects.create(
                    commune=self,
                    province=place_in[0],
                    district=place_in[1],
                    valid_from=self.valid_from,
                    valid_to=self.valid_to,
                )
            else:
                self.place_in_only_province()

    def get_absolute_url(self) -> str:
        url = reverse("places:commune", args=[self.code])
        # The code may mean another commune today: a ceased one is opened on its
        # last day, so the link always leads to this commune.
        if self.valid_to is not None and self.valid_to < timezone.localdate():
            url += f"?as_of={self.valid_to.isoformat()}"
        return url

    def place_in_only_province(self) -> "CommuneInProvince | None":
        """A new commune belongs to a province (and before 2025 to a district). When
        the registry knows one province on the commune's first day (a district's
        registry, an old two-column import), that is its province, and its only
        district of that day its district; otherwise the caller says which
        (reorganize_units, the import's province_code)."""
        day = self.valid_from or timezone.localdate()
        provinces = list(Province.objects.valid_on(day)[:2])
        if len(provinces) != 1:
            return None
        districts = list(provinces[0].districts.valid_on(day)[:2])
        return CommuneInProvince.objects.create(
            commune=self,
            province=provinces[0],
            district=districts[0] if len(districts) == 1 else None,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
        )

    @property
    def parent_period(self) -> "CommuneInProvince | None":
        """Its province and district on its last day (one query)."""
        return (
            self.parent_periods.select_related("province", "district")
            .order_by("-valid_from")
            .first()
        )

    @property
    def validity_label(self) -> str:
        if self.valid_to is not None:
            return _("until %(date)s") % {"date": dmy(self.valid_to)}
        if self.valid_from is not None:
            return _("since %(date)s") % {"date": dmy(self.valid_from)}
        return ""


class CommuneInProvince(Validity):
    """The province (and, until 2025, the district) a commune belonged to, for a
    period. One period at a time for each commune."""

    # A period belongs to its unit: deleting a unit entered by mistake deletes its
    # periods; the units it points at are protected.
    commune = models.ForeignKey(
        Commune, verbose_name=_("commune"), on_delete=models.CASCADE, related_name="parent_periods"
    )
    province = models.ForeignKey(
        Province,
        verbose_name=_("province"),
        on_delete=models.PROTECT,
        related_name="commune_periods",
    )
    district = models.ForeignKey(
        District,
        verbose_name=_("district"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="commune_periods",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("commune's province and district")
        verbose_name_plural = _("communes' provinces and districts")
        ordering = ["commune", "valid_from"]
        constraints = [
            _validity_in_order("commune_parent"),
            models.UniqueConstraint(
                fields=["commune"],
                condition=Q(valid_to__isnull=True),
                name="commune_parent_open_once",
            ),
            models.UniqueConstraint(
                fields=["commune", "valid_from"], name="commune_parent_starts_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.commune} – {self.district or self.province}"


class Village(Validity):
    commune = models.ForeignKey(
        Commune,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="villages",
        help_text=_(
            "Its commune now (or when it ceased); the communes of the past are its periods."
        ),
    )
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    households = models.PositiveIntegerField(_("households"), null=True, blank=True)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    # Bumped on every save through a form: the optimistic lock that turns
    # "two secretaries edit the same village" into a warning, not a lost edit.
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("village")
        verbose_name_plural = _("villages")
        ordering = ["commune__code", "name"]
        constraints = [
            _validity_in_order("village"),
            models.CheckConstraint(
                condition=Q(population__isnull=True)
                | Q(households__isnull=True)
                | Q(population__gte=F("households")),
                name="village_population_at_least_households",
            ),
            models.UniqueConstraint(
                fields=["code"], condition=Q(valid_to__isnull=True), name="village_code_open_once"
            ),
            models.UniqueConstraint(fields=["code", "valid_from"], name="village_code_starts_once"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # A new village's first period in its commune starts with it. Later moves
        # are a reorganisation's, never an edit (branches.services.reorganizations).
        self.name = clean_name(self.name)  # NFC, trimmed, Đ not Ð
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            VillageInCommune.objects.create(
                village=self, commune_id=self.commune_id, valid_from=self.valid_from
            )

    def get_absolute_url(self) -> str:
        return reverse("places:village", args=[self.pk])

    @property
    def label(self) -> str:
        return unit_label(self)


class VillageInCommune(Validity):
    """The commune a village belonged to, for a period."""

    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.CASCADE, related_name="commune_periods"
    )
    commune = models.ForeignKey(
        Commune, verbose_name=_("commune"), on_delete=models.PROTECT, related_name="village_periods"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("village's commune")
        verbose_name_plural = _("villages' communes")
        ordering = ["village", "valid_from"]
        constraints = _one_period_at_a_time("village")
        indexes = [models.Index(fields=["commune", "valid_from"], name="village_commune_dates")]

    def __str__(self) -> str:
        return f"{self.village} – {self.commune}"


class BranchKind(models.TextChoices):
    VILLAGE = "village", _("village branch")
    COMMUNE_OFFICE = "commune_office", _("commune-office branch")
    SCHOOL = "school", _("school branch")
    HEALTH = "health", _("health-station branch")
    MILITIA = "militia", _("militia branch")
    POLICE = "police", _("police branch")
    OTHER = "other", _("other branch")


class BranchQuerySet(models.QuerySet):
    def active_on(self, date: datetime.date):
        return self.filter(
            Q(founded_on__isnull=True) | Q(founded_on__lte=date),
            Q(dissolved_on__isnull=True) | Q(dissolved_on__gt=date),
        )

    def active(self):
        return self.filter(dissolved_on__isnull=True)

    def in_commune_on(self, commune, date: datetime.date):
        """The branches that belonged to `commune` on `date` (its roster of branches
        then, whatever commune they are in now)."""
        periods = BranchInCommune.objects.filter(commune=commune).valid_on(date)
        return self.filter(pk__in=periods.values("branch_id"))

    def by_code(self, code: str, on: datetime.date | None = None):
        """The branch that bore `code` on `on` (today by default), or None."""
        return self.active_on(on or timezone.localdate()).filter(code=code).first()


class Branch(models.Model):
    """A Party branch (chi bộ). It exists from `founded_on` until the day before
    `dissolved_on`; its code is unique among the branches of the same days."""

    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=20, choices=BranchKind.choices)
    commune = models.ForeignKey(
        Commune,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="branches",
        help_text=_(
            "Its commune now (or when it was dissolved); the communes of the past are its periods."
        ),
    )
    village = models.ForeignKey(
        Village,
        verbose_name=_("village"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="branches",
    )
    founded_on = models.DateField(_("founded on"), null=True, blank=True)
    dissolved_on = models.DateField(_("dissolved on"), null=True, blank=True)
    dissolution_decision = models.CharField(_("dissolution decision"), max_length=100, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords()

    objects = BranchQuerySet.as_manager()

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["commune__code", "code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="village") | Q(village__isnull=False),
                name="village_branch_has_village",
            ),
            models.CheckConstraint(
                condition=Q(dissolved_on__isnull=True)
                | Q(founded_on__isnull=True)
                | Q(dissolved_on__gte=F("founded_on")),
                name="branch_dissolved_after_founded",
            ),
            # A dissolution is a decision of the commune committee: no date without it.
            models.CheckConstraint(
                condition=Q(dissolved_on__isnull=True, dissolution_decision="")
                | (Q(dissolved_on__isnull=False) & ~Q(dissolution_decision="")),
                name="branch_dissolution_has_decision",
            ),
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(dissolved_on__isnull=True),
                name="branch_code_active_once",
            ),
        ]
        indexes = [
            models.Index(fields=["commune", "kind"], name="branch_commune_kind"),
            # The dashboard's branches by kind and its commune-office list.
            models.Index(fields=["kind", "dissolved_on"], name="branch_kind_dissolved"),
            models.Index(fields=["code"], name="branch_code"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # A new branch's first period in its commune starts when it is founded.
        self.name = clean_name(self.name)  # NFC, trimmed, Đ not Ð
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            BranchInCommune.objects.create(
                branch=self, commune_id=self.commune_id, valid_from=self.founded_on
            )

    def get_absolute_url(self) -> str:
        return reverse("places:branch", args=[self.pk])

    @property
    def label(self) -> str:
        return unit_label(self)

    @property
    def is_dissolved(self) -> bool:
        return self.dissolved_on is not None

    def is_active_on(self, date: datetime.date) -> bool:
        return (self.founded_on is None or self.founded_on <= date) and (
            self.dissolved_on is None or self.dissolved_on > date
        )

    def check_code_free(self) -> None:
        """A branch code is unique among the branches active on the same days."""
        others = Branch.objects.filter(code=self.code).exclude(pk=self.pk)
        if self.dissolved_on is not None:
            others = others.filter(Q(founded_on__isnull=True) | Q(founded_on__lt=self.dissolved_on))
        if self.founded_on is not None:
            others = others.filter(
                Q(dissolved_on__isnull=True) | Q(dissolved_on__gt=self.founded_on)
            )
        clash = others.first()
        if clash is not None:
            raise ValidationError(
                {
                    "code": _("The code %(code)s is borne by %(name)s on some of these days.")
                    % {"code": self.code, "name": clash.name}
                }
            )

    def clean(self):
        errors = {}
        if self.kind == BranchKind.VILLAGE and not self.village_id:
            errors["village"] = _("A village branch must name its village.")
        if self.village_id and self.commune_id and self.village.commune_id != self.commune_id:
            errors["village"] = _("The village belongs to another commune.")
        if self.dissolved_on and self.founded_on and self.dissolved_on < self.founded_on:
            errors["dissolved_on"] = _("A branch cannot be dissolved before it was founded.")
        if errors:
            raise ValidationError(errors)


class BranchInCommune(Validity):
    """The commune a branch belonged to, for a period: the commune of its rosters of
    those days. A merger closes one period and opens the next; the branch, its
    code and its memberships are untouched."""

    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.CASCADE, related_name="commune_periods"
    )
    commune = models.ForeignKey(
        Commune, verbose_name=_("commune"), on_delete=models.PROTECT, related_name="branch_periods"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("branch's commune")
        verbose_name_plural = _("branches' communes")
        ordering = ["branch", "valid_from"]
        constraints = _one_period_at_a_time("branch")
        indexes = [models.Index(fields=["commune", "valid_from"], name="branch_commune_dates")]

    def __str__(self) -> str:
        return f"{self.branch} – {self.commune}"
