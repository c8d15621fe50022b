"""Builds overview/report_templates/report_upward.docx, the default template of the
report upward, once: `.venv/bin/python devtools/build_report_template.py`.

The .docx is committed; this script is kept so that the template can be made again
from a known state. An office edits its own copy in Word or LibreOffice (the Jinja
tags of docxtpl stay as typed text) and uploads it in the admin.

The layout follows Hướng dẫn 36-HD/VPTW (2018) on the format of Party documents:
A4, margins 20-25 mm top and bottom, 30-35 mm left, 15-20 mm right; Times New Roman
13-14 pt; a header table without borders with the issuing body and number on the
left and "ĐẢNG CỘNG SẢN VIỆT NAM" with the place and date on the right; the title
centred in bold capitals; the signature block on the right, "Nơi nhận" on the left.
"""

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

OUT = (
    Path(__file__).resolve().parent.parent / "overview" / "report_templates" / "report_upward.docx"
)
FONT = "Times New Roman"


def _no_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _widths(table, widths) -> None:
    """Column widths in the grid and in every cell: LibreOffice reads the grid, Word the cells."""
    table.autofit = False
    for i, width in enumerate(widths):
        table.columns[i].width = width
        for cell in table.columns[i].cells:
            cell.width = width


def _para(container, text="", *, bold=False, italic=False, size=14, align=None, after=0):
    paragraph = container.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(after)
    paragraph.paragraph_format.space_before = Pt(0)
    if text:
        run = paragraph.add_run(text)
        run.bold = bold
        run.italic = italic
        run.font.size = Pt(size)
    return paragraph


def _cell_para(cell, text, **kw):
    """The first paragraph of a cell holds the first line (a new cell has one, empty)."""
    if len(cell.paragraphs) == 1 and not cell.paragraphs[0].text:
        paragraph = cell.paragraphs[0]
        paragraph.alignment = kw.pop("align", None)
        run = paragraph.add_run(text)
        run.bold = kw.get("bold", False)
        run.italic = kw.get("italic", False)
        run.font.size = Pt(kw.get("size", 14))
        return paragraph
    return _para(cell, text, **kw)


def _figures_table(document, loop: str) -> None:
    """A table of figures: STT, indicator, this period, the previous one, the change;
    its second row repeats for each line of `loop` (docxtpl's {%tr %})."""
    table = document.add_table(rows=4, cols=5)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (Mm(12), Mm(78), Mm(25), Mm(25), Mm(20))
    heads = ("STT", "Chỉ tiêu", "Kỳ này", "Kỳ trước", "Tăng, giảm")
    for i, head in enumerate(heads):
        _cell_para(
            table.rows[0].cells[i], head, bold=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER
        )
    _cell_para(table.rows[1].cells[0], "{%tr for row in " + loop + " %}", size=12)
    cells = (
        "{{ row.number }}",
        "{{ row.label }}",
        "{{ row.current }}",
        "{{ row.previous }}",
        "{{ row.change }}",
    )
    for i, text in enumerate(cells):
        align = WD_ALIGN_PARAGRAPH.LEFT if i == 1 else WD_ALIGN_PARAGRAPH.CENTER
        _cell_para(table.rows[2].cells[i], text, size=12, align=align)
    _cell_para(table.rows[3].cells[0], "{%tr endfor %}", size=12)
    _widths(table, widths)


def build(out: Path = OUT) -> Path:
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    # East Asian and complex-script fonts too, or Word falls back for some letters.
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)
    table_grid = document.styles["Table Grid"]
    table_grid.font.name = FONT

    header = document.add_table(rows=1, cols=2)
    _no_borders(header)
    left, right = header.rows[0].cells
    _widths(header, (Mm(75), Mm(90)))
    centre = WD_ALIGN_PARAGRAPH.CENTER
    _cell_para(left, "{{ issuer_parent }}", size=13, align=centre)
    _cell_para(left, "{{ issuer }}", bold=True, size=13, align=centre)
    _cell_para(left, "*", size=13, align=centre)
    _cell_para(left, "Số {{ number }}-BC/{{ symbol }}", size=13, align=centre)
    _cell_para(right, "ĐẢNG CỘNG SẢN VIỆT NAM", bold=True, size=13, align=centre)
    _cell_para(right, "", size=13, align=centre)
    _cell_para(right, "", size=13, align=centre)
    _cell_para(right, "{{ place_and_date }}", italic=True, size=13, align=centre)

    _para(document, "", after=6)
    _para(document, "BÁO CÁO", bold=True, size=15, align=centre)
    _para(document, "{{ subject }}", bold=True, size=14, align=centre)
    _para(document, "{{ period_label }}", italic=True, size=14, align=centre, after=12)

    justify = WD_ALIGN_PARAGRAPH.JUSTIFY
    _para(document, "{{ introduction }}", align=justify, after=6)

    _para(document, "I. TÌNH HÌNH TỔ CHỨC ĐẢNG VÀ ĐẢNG VIÊN", bold=True, after=6)
    _figures_table(document, "organisation")
    _para(document, "", after=6)

    _para(document, "II. SINH HOẠT CHI BỘ", bold=True, after=6)
    _figures_table(document, "meetings")
    _para(document, "", after=6)
    _para(document, "Sinh hoạt thường kỳ theo tháng:", italic=True, after=6)
    months = document.add_table(rows=4, cols=5)
    months.style = "Table Grid"
    months.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, head in enumerate(
        ("Tháng", "Số chi bộ", "Đã sinh hoạt", "Chưa sinh hoạt", "Tỷ lệ dự họp")
    ):
        _cell_para(months.rows[0].cells[i], head, bold=True, size=12, align=centre)
    _cell_para(months.rows[1].cells[0], "{%tr for m in months %}", size=12)
    for i, text in enumerate(
        ("{{ m.label }}", "{{ m.branches }}", "{{ m.held }}", "{{ m.missed }}", "{{ m.rate }}")
    ):
        _cell_para(months.rows[2].cells[i], text, size=12, align=centre)
    _cell_para(months.rows[3].cells[0], "{%tr endfor %}", size=12)
    _widths(months, (Mm(30), Mm(30), Mm(35), Mm(35), Mm(30)))
    _para(document, "", after=6)

    _para(document, "III. THỰC HIỆN NHIỆM VỤ ĐƯỢC PHÂN CÔNG", bold=True, after=6)
    _figures_table(document, "tasks")
    _para(document, "", after=6)

    _para(document, "IV. CÔNG TÁC PHÁT TRIỂN ĐẢNG VIÊN", bold=True, after=6)
    _figures_table(document, "development")
    _para(document, "", after=6)

    _para(document, "V. THU, NỘP ĐẢNG PHÍ", bold=True, after=6)
    _para(document, "{{ dues_text }}", align=justify, after=6)
    _figures_table(document, "dues")
    _para(document, "", after=6)

    _para(document, "VI. ĐÁNH GIÁ CHUNG", bold=True, after=6)
    _para(document, "1. Ưu điểm", bold=True, after=3)
    _para(document, "……………………………………………………………………………", after=6)
    _para(document, "2. Hạn chế, khuyết điểm và nguyên nhân", bold=True, after=3)
    _para(document, "……………………………………………………………………………", after=6)

    _para(document, "VII. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI", bold=True, after=3)
    _para(document, "……………………………………………………………………………", after=12)

    signature = document.add_table(rows=1, cols=2)
    _no_borders(signature)
    left, right = signature.rows[0].cells
    _widths(signature, (Mm(80), Mm(85)))
    _cell_para(left, "Nơi nhận:", bold=True, italic=True, size=12)
    _cell_para(left, "{%p for line in recipients %}", size=12)
    _cell_para(left, "- {{ line }}", size=12)
    _cell_para(left, "{%p endfor %}", size=12)
    _cell_para(left, "- Lưu.", size=12)
    _cell_para(right, "{{ signature_on_behalf }}", bold=True, size=13, align=centre)
    _cell_para(right, "{{ signature_title }}", bold=True, size=13, align=centre)
    for _ in range(3):
        _cell_para(right, "", size=13, align=centre)
    _cell_para(right, "{{ signer_name }}", bold=True, size=13, align=centre)

    out.parent.mkdir(parents=True, exist_ok=True)
    document.save(out)
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
