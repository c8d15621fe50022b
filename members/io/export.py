"""The registry export: the same headers as the import (members.io.read.HEADERS),
so that an export imports into an empty database unchanged.

    export_rows(kind, commune=None, as_of=None)   -> iterator of rows (header first)
    member_rows(queryset)                          -> rows of `registry_export members` for any
                                                      member queryset (the web list's filters)
    write_csv(rows, stream) / csv_chunks(rows)     -> CSV text (file or streaming response)
    write_xlsx(rows, stream)                       -> an XLSX workbook (openpyxl write-only)
    with_vietnamese_titles(rows, kind)             -> the same rows under the Vietnamese titles
                                                      (the XLSX export's choice; the import reads both)

Each kind is one query, read with .iterator() so 100,000 rows never sit in memory
as model instances. Text cells that a spreadsheet would take for a formula
(starting with = + - @) get a leading single quote (pacnam.io.csv_writer, the
one rule for every CSV the registry writes); the import takes it off.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable, Iterator

from django.db.models import OuterRef, QuerySet, Subquery

from branches.models import (
    Branch,
    BranchInCommune,
    Commune,
    CommuneInProvince,
    Village,
    VillageInCommune,
    valid_on_q,
)
from pacnam.io.csv_writer import csv_chunks, neutralise, write_csv  # noqa: F401 - the writers of its callers

from ..models import Member, Membership, MembershipKind
from .read import HEADERS, TITLES, column_title

CHUNK = 2000
# The communes export carries each commune's province and validity after the
# import's two columns; an old two-column file still imports.
EXPORT_HEADERS = {
    **HEADERS,
    "communes": ["code", "name", "province_code", "valid_from", "valid_to"],
}


def _date(value: datetime.date | None) -> str:
    return value.isoformat() if value else ""


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


def _rows_communes(commune: Commune | None, as_of) -> Iterator[list]:
    """Every commune, ceased ones too, with its province (on `as_of`, else on its
    last day) and its validity; with `as_of`, those valid that day, under the
    names they bore then (a renamed commune is another record)."""
    qs = Commune.objects.order_by("code", "valid_from")
    if commune is not None:
        qs = qs.filter(pk=commune.pk)
    periods = CommuneInProvince.objects.filter(commune=OuterRef("pk"))
    if as_of is not None:
        qs = qs.valid_on(as_of)
        periods = periods.valid_on(as_of)
    province = periods.order_by("-valid_from").values("province__code")[:1]
    values = qs.annotate(province_code=Subquery(province)).values_list(
        "code", "name", "province_code", "valid_from", "valid_to"
    )
    for code, name, province_code, valid_from, valid_to in values.iterator(chunk_size=CHUNK):
        yield [code, name, province_code or "", _date(valid_from), _date(valid_to)]


def _commune_code_on(periods, as_of) -> Subquery:
    """The code of the commune a village or branch was in on `as_of` (its period
    that day), so an export of a past date shows the communes of that date."""
    return Subquery(
        periods.filter(*valid_on_q(as_of)).order_by("-valid_from").values("commune__code")[:1]
    )


def _rows_villages(commune: Commune | None, as_of) -> Iterator[list]:
    qs = Village.objects.order_by("code", "valid_from")
    commune_code = "commune__code"
    if as_of is not None:
        qs = qs.valid_on(as_of).annotate(
            commune_then=_commune_code_on(
                VillageInCommune.objects.filter(village=OuterRef("pk")), as_of
            )
        )
        commune_code = "commune_then"
        if commune is not None:
            then = VillageInCommune.objects.filter(commune=commune).valid_on(as_of)
            qs = qs.filter(pk__in=then.values("village_id"))
    elif commune is not None:
        qs = qs.filter(commune=commune)
    values = qs.values_list(commune_code, "code", "name", "households", "population")
    for commune_code_value, code, name, households, population in values.iterator(chunk_size=CHUNK):
        yield [commune_code_value, code, name, _count(households), _count(population)]


def _rows_branches(commune: Commune | None, as_of) -> Iterator[list]:
    # Dissolved branches are exported too: the memberships of the past point at them.
    qs = Branch.objects.order_by("code", "founded_on")
    commune_code = "commune__code"
    if as_of is not None:
        qs = qs.active_on(as_of).annotate(
            commune_then=_commune_code_on(
                BranchInCommune.objects.filter(branch=OuterRef("pk")), as_of
            )
        )
        commune_code = "commune_then"
        if commune is not None:
            qs = qs.in_commune_on(commune, as_of)
    elif commune is not None:
        qs = qs.filter(commune=commune)
    values = qs.values_list(commune_code, "code", "name", "kind", "village__code", "founded_on")
    for commune_code_value, code, name, kind, village_code, founded_on in values.iterator(
        chunk_size=CHUNK
    ):
        yield [commune_code_value, code, name, kind, village_code or "", _date(founded_on)]


MEMBER_VALUES = [
    "citizen_id",
    "full_name",
    "gender",
    "birth_date",
    "ethnicity",
    "residence_village__code",
    "position",
    "is_commune_cadre",
    "admitted_on",
    "full_on",
    "card_number",
]


def _member_row(values: tuple, branch_code: str, since: datetime.date | None) -> list:
    (
        citizen_id,
        full_name,
        gender,
        birth_date,
        ethnicity,
        village_code,
        position,
        is_cadre,
        admitted_on,
        full_on,
        card_number,
    ) = values
    return [
        citizen_id,
        full_name,
        gender,
        _date(birth_date),
        ethnicity,
        village_code,
        position,
        "yes" if is_cadre else "no",
        _date(admitted_on),
        _date(full_on),
        card_number,
        branch_code,
        _date(since),
    ]


def member_rows(queryset: QuerySet) -> Iterator[list]:
    """`registry_export members` rows for a member queryset, in its order: one query.

    `since` is the start of the member's open official membership.
    """
    open_start = (
        Membership.objects.filter(
            member=OuterRef("pk"), kind=MembershipKind.OFFICIAL, ended_on__isnull=True
        )
        .order_by("-started_on")
        .values("started_on")[:1]
    )
    values = queryset.annotate(since=Subquery(open_start)).values_list(
        *MEMBER_VALUES, "branch__code", "since"
    )
    for row in values.iterator(chunk_size=CHUNK):
        yield _member_row(row[:-2], row[-2], row[-1])


def _rows_members(commune: Commune | None, as_of) -> Iterator[list]:
    if as_of is None:
        # Members still in the Party, in their current branch.
        qs = Member.objects.current().order_by("citizen_id")
        if commune is not None:
            qs = qs.filter(branch__commune=commune)
        yield from member_rows(qs)
        return
    # The rosters on `as_of`: the official membership running that day gives
    # the branch and the start.
    qs = Membership.objects.official().on(as_of).order_by("member__citizen_id")
    if commune is not None:
        qs = qs.filter(branch__in=Branch.objects.in_commune_on(commune, as_of))
    fields = [f"member__{name}" for name in MEMBER_VALUES]
    for row in qs.values_list(*fields, "branch__code", "started_on").iterator(chunk_size=CHUNK):
        yield _member_row(row[:-2], row[-2], row[-1])


def _rows_memberships(commune: Commune | None, as_of) -> Iterator[list]:
    qs = Membership.objects.order_by("member__citizen_id", "started_on", "kind", "branch__code")
    if as_of is None:
        # The history of the members the members export lists.
        qs = qs.filter(member__in=Member.objects.current())
    else:
        qs = qs.on(as_of)
    if commune is not None and as_of is not None:
        qs = qs.filter(branch__in=Branch.objects.in_commune_on(commune, as_of))
    elif commune is not None:
        qs = qs.filter(branch__commune=commune)
    values = qs.values_list(
        "member__citizen_id", "branch__code", "kind", "started_on", "ended_on", "end_reason"
    )
    for citizen_id, branch_code, kind, started_on, ended_on, end_reason in values.iterator(
        chunk_size=CHUNK
    ):
        yield [citizen_id, branch_code, kind, _date(started_on), _date(ended_on), end_reason]


_ROWS = {
    "communes": _rows_communes,
    "villages": _rows_villages,
    "branches": _rows_branches,
    "members": _rows_members,
    "memberships": _rows_memberships,
}


def export_rows(
    kind: str, *, commune: Commune | None = None, as_of: datetime.date | None = None
) -> Iterator[list]:
    """The header and rows of `registry_export KIND`, optionally for one commune
    and as on a date (the rosters on that day)."""
    if kind not in _ROWS:
        raise ValueError(f"unknown export kind {kind!r}")
    yield list(EXPORT_HEADERS[kind])
    for row in _ROWS[kind](commune, as_of):
        yield [neutralise(value) for value in row]


def write_xlsx(rows: Iterable[list], stream, *, title: str = "registry") -> None:
    """Write an XLSX workbook to a binary stream; every cell is text, as in the CSV,
    so citizen IDs keep their leading zeros."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for row in rows:
        sheet.append(row)
    workbook.save(stream)


def with_vietnamese_titles(rows: Iterable[list], kind: str) -> Iterator[list]:
    """`rows` with their header in the titles district staff read ("Số CCCD", "Họ và
    tên"); the import matches them as it matches the keys. For the XLSX export only:
    the CSV keeps the keys, the contract other tools read."""
    rows = iter(rows)
    header = next(rows, None)
    if header is None:
        return
    yield [TITLES[kind].get(key, [key])[0] for key in header]
    yield from rows


def xlsx_bytes(rows: Iterable[list], *, title: str = "registry") -> bytes:
    buffer = io.BytesIO()
    write_xlsx(rows, buffer, title=title)
    return buffer.getvalue()


def member_list_rows(queryset: QuerySet) -> Iterator[list]:
    """Header and neutralised rows of `registry_export members` for the member list
    a user sees (the web exports): one query."""
    yield list(HEADERS["members"])
    for row in member_rows(queryset):
        yield [neutralise(value) for value in row]


# --- The export for people ------------------------------------------------------------
# The machine export above is a contract (keys, ISO dates, male/female, yes/no) that
# round trips and other tools rely on. People read a list in Excel: Vietnamese titles
# and words, dates that are dates, and the names of the branch and commune beside
# their codes. The import reads this one too (its titles and words, the names left out).

PEOPLE_COLUMNS = [
    "citizen_id",
    "full_name",
    "gender",
    "birth_date",
    "ethnicity",
    "residence_village_code",
    "residence_village_name",
    "position",
    "is_commune_cadre",
    "admitted_on",
    "full_on",
    "card_number",
    "branch_code",
    "branch_name",
    "commune_code",
    "commune_name",
    "since",
]
PEOPLE_DATES = {"birth_date", "admitted_on", "full_on", "since"}
# Written in Vietnamese whatever the interface's language: the import reads these words.
PEOPLE_GENDER = {"male": "Nam", "female": "Nữ"}
PEOPLE_YES_NO = {True: "Có", False: "Không"}


def people_header() -> list[str]:
    return [column_title("members", key) for key in PEOPLE_COLUMNS]


def people_rows(queryset: QuerySet) -> Iterator[list]:
    """The header and rows of the people's export for a member queryset, in its
    order: one query. Dates are dates (the XLSX writes them as date cells)."""
    yield people_header()
    open_start = (
        Membership.objects.filter(
            member=OuterRef("pk"), kind=MembershipKind.OFFICIAL, ended_on__isnull=True
        )
        .order_by("-started_on")
        .values("started_on")[:1]
    )
    values = queryset.annotate(since=Subquery(open_start)).values_list(
        "citizen_id",
        "full_name",
        "gender",
        "birth_date",
        "ethnicity",
        "residence_village__code",
        "residence_village__name",
        "position",
        "is_commune_cadre",
        "admitted_on",
        "full_on",
        "card_number",
        "branch__code",
        "branch__name",
        "branch__commune__code",
        "branch__commune__name",
        "since",
    )
    for row in values.iterator(chunk_size=CHUNK):
        cells = dict(zip(PEOPLE_COLUMNS, row, strict=True))
        cells["gender"] = PEOPLE_GENDER.get(cells["gender"], cells["gender"])
        cells["is_commune_cadre"] = PEOPLE_YES_NO[bool(cells["is_commune_cadre"])]
        yield [neutralise("" if cells[key] is None else cells[key]) for key in PEOPLE_COLUMNS]


# Excel's widths, in characters, for the people's columns: a name or a branch is long.
PEOPLE_WIDTHS = {"full_name": 24, "branch_name": 28, "commune_name": 16, "position": 22}


def people_xlsx_bytes(rows: Iterable[list], *, title: str) -> bytes:
    """The people's export as a workbook: a bold header that stays in view, dates as
    date cells shown dd/mm/yyyy, citizen IDs and card numbers as text (their
    leading zeros kept)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    for index, key in enumerate(PEOPLE_COLUMNS, start=1):
        width = PEOPLE_WIDTHS.get(key, 14)
        sheet.column_dimensions[get_column_letter(index)].width = width
    rows = iter(rows)
    bold = Font(bold=True)
    header = []
    for value in next(rows, []):
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, datetime.date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "DD/MM/YYYY"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
