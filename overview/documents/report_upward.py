"""The report upward as a document: the figures of selectors.report_upward poured into a
Word template (docxtpl), the commune's own when it uploaded one, else the default one
kept in the repository; .odt through LibreOffice headless."""

from __future__ import annotations

import datetime
import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from docxtpl import DocxTemplate

from branches.access import BRANCH, COMMUNE
from branches.models import Branch, Commune, CommuneInProvince, Role, RoleKind

from ..models import ReportTemplate
from ..selectors.report_upward import (
    ReportUnit,
    dues_sentence,
    month_rows,
    period_label,
    report_figures,
    section_rows,
)

DEFAULT_TEMPLATE = (
    Path(__file__).resolve().parent.parent / "report_templates" / "report_upward.docx"
)
FORMATS = ("docx", "odt")
CONVERT_TIMEOUT = 120


class DocumentError(Exception):
    """The document cannot be made (no LibreOffice for an .odt, a broken template):
    the message is for the user, in Vietnamese."""


def _commune_of(unit: ReportUnit, on: datetime.date) -> Commune | None:
    if unit.level == COMMUNE:
        assert isinstance(unit.unit, Commune)
        return unit.unit
    if unit.level == BRANCH:
        assert isinstance(unit.unit, Branch)
        period = (
            unit.unit.commune_periods.filter(
                Q(valid_from__isnull=True) | Q(valid_from__lte=on),
                Q(valid_to__isnull=True) | Q(valid_to__gte=on),
            )
            .select_related("commune")
            .first()
        )
        return period.commune if period else unit.unit.commune
    return None


def template_for(
    unit: ReportUnit, on: datetime.date
) -> tuple[Path | FieldFile, ReportTemplate | None]:
    """The commune's own template valid on `on` (the latest uploaded), else the default."""
    commune = _commune_of(unit, on)
    if commune is not None:
        own = (
            ReportTemplate.objects.filter(commune=commune)
            .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on))
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
            .order_by("-uploaded_at", "-pk")
            .first()
        )
        if own is not None:
            return own.file, own
    return DEFAULT_TEMPLATE, None


def _signer(unit: ReportUnit, on: datetime.date) -> tuple[str, str]:
    """The name and title of whoever holds the unit's role on `on` (the branch's or the
    commune's secretary, the province's officer); blanks to fill by hand otherwise."""
    field = {BRANCH: "branch", COMMUNE: "commune"}.get(unit.level, "province")
    kind = {
        BRANCH: RoleKind.BRANCH_SECRETARY,
        COMMUNE: RoleKind.COMMUNE_SECRETARY,
    }.get(unit.level, RoleKind.PROVINCE_OFFICER)
    role = (
        Role.objects.filter(kind=kind, **{field: unit.unit})
        .valid_on(on)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if role is None:
        return "", ""
    return role.user.get_full_name() or role.user.get_username(), role.title


def _province_of(commune: Commune | None, on: datetime.date) -> str:
    if commune is None:
        return ""
    period = (
        CommuneInProvince.objects.filter(commune=commune)
        .valid_on(on)
        .select_related("province")
        .first()
    )
    return period.province.name if period else ""


def context(unit: ReportUnit, first, last, *, dated: datetime.date | None = None) -> dict:
    """Everything the template's tags name (see docs/report-upward.md)."""
    dated = dated or timezone.localdate()
    report = report_figures(unit, first, last)
    commune = _commune_of(unit, last)
    signer_name, signer_role_title = _signer(unit, last)
    if unit.level == BRANCH:
        parent = f"ĐẢNG BỘ XÃ {commune.name}".upper() if commune else ""
        issuer, symbol = unit.name.upper(), "CB"
        on_behalf, title = "T/M CHI BỘ", "BÍ THƯ"
        place = commune.name if commune else ""
        body = unit.name
        recipients = [f"Đảng ủy xã {commune.name} (để báo cáo)" if commune else "Cấp ủy cấp trên"]
    elif unit.level == COMMUNE:
        province = _province_of(commune, last)
        parent = f"ĐẢNG BỘ TỈNH {province}".upper() if province else ""
        issuer, symbol = f"ĐẢNG ỦY XÃ {unit.name}".upper(), "ĐU"
        on_behalf, title = "T/M ĐẢNG ỦY", "BÍ THƯ"
        place = unit.name
        body = f"Đảng ủy xã {unit.name}"
        recipients = [
            f"Ban Thường vụ Tỉnh ủy {province} (để báo cáo)" if province else "Cấp ủy cấp trên",
            "Các chi bộ trực thuộc",
        ]
    else:
        parent = f"TỈNH ỦY {unit.name}".upper()
        issuer, symbol = "BAN TỔ CHỨC", "BTCTU"
        # The organisation board's head signs in person: "T/M" is for collective committees.
        on_behalf, title = "", "TRƯỞNG BAN"
        place = unit.name
        body = f"Ban Tổ chức Tỉnh ủy {unit.name}"
        recipients = [f"Ban Thường vụ Tỉnh ủy {unit.name} (để báo cáo)", "Các đảng ủy xã, phường"]
    sections = section_rows(report)
    return {
        "issuer_parent": parent,
        "issuer": issuer,
        "number": "…",
        "symbol": symbol,
        "place_and_date": f"{place}, ngày {dated.day} tháng {dated.month} năm {dated.year}",
        "subject": "Kết quả công tác xây dựng Đảng",
        "period_label": period_label(first, last),
        "introduction": (
            f"{body} báo cáo kết quả công tác xây dựng Đảng "
            f"{period_label(first, last)[1:-1].lower()}, số liệu từ Sổ quản lý chi bộ, đảng viên, "
            "so sánh với kỳ trước, như sau:"
        ),
        **sections,
        "months": month_rows(report),
        "dues_text": dues_sentence(report["current"]),
        "recipients": recipients,
        "signature_on_behalf": on_behalf,
        "signature_title": title,
        "signer_name": signer_name,
        "signer_role_title": signer_role_title,
        "unit_name": unit.name,
        "unit_code": unit.code,
        "report": report,
    }


def render(unit: ReportUnit, first, last, out: Path, *, dated=None) -> Path:
    """Writes the report to `out` (.docx or .odt by its extension)."""
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise DocumentError(f"Định dạng “.{fmt}” không được hỗ trợ: chỉ .docx hoặc .odt.")
    template, _own = template_for(unit, last)
    values = context(unit, first, last, dated=dated)
    try:
        if isinstance(template, Path):
            data = template.read_bytes()
        else:  # an uploaded file, in whatever storage holds it
            with template.open("rb") as handle:
                data = handle.read()
        document = DocxTemplate(io.BytesIO(data))
        document.render(values)
    except Exception as exc:  # a template edited by hand may break in many ways
        raise DocumentError(f"Mẫu báo cáo không dùng được: {exc}") from exc
    if fmt == "docx":
        document.save(out)
        return out
    with tempfile.TemporaryDirectory(prefix="report-upward-") as tmp:
        source = Path(tmp) / (out.stem + ".docx")
        document.save(source)
        converted = convert(source, "odt", Path(tmp))
        shutil.move(converted, out)
    return out


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(source: Path, fmt: str, outdir: Path) -> Path:
    """LibreOffice headless converts `source` to `fmt` in `outdir`, with a profile of its
    own in a scratch folder: two conversions at once would otherwise fight over the
    user's profile lock and one would fail silently."""
    binary = soffice()
    if binary is None:
        raise DocumentError(
            "Máy chủ chưa cài LibreOffice nên không tạo được tệp .odt: "
            "đồng chí tải tệp .docx (mở được bằng LibreOffice và Word), "
            "hoặc nhờ quản trị cài gói libreoffice-writer-nogui."
        )
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        result = subprocess.run(
            [
                binary,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                fmt,
                "--outdir",
                str(outdir),
                str(source),
            ],
            capture_output=True,
            timeout=CONVERT_TIMEOUT,
            check=False,
        )
    target = outdir / (source.stem + "." + fmt)
    if result.returncode != 0 or not target.exists():
        raise DocumentError(
            "LibreOffice không chuyển được báo cáo sang ."
            + fmt
            + ": "
            + (result.stderr.decode(errors="replace").strip() or "không rõ lỗi")
        )
    return target
