"""The report upward: its figures against independent counts, read back from the
document itself (python-docx), the command, the page for every role, a commune's own
template, and the PDF rendered by LibreOffice (pages and bounds)."""

import datetime
import io
import re
import shutil
import subprocess

import docx
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Q

from branches.access import scope_for
from branches.models import Branch, BranchInCommune, Commune
from meetings.models import Attendance, Meeting, MeetingKind, Task, TaskStatus
from meetings.selectors import TOOK_PLACE
from meetings.services.tasks import task_create
from members.models import Membership
from members.services.members import member_leave, membership_move
from overview.models import ReportTemplate
from overview.selectors.report_upward import figures, previous_period, unit_by_code
from tests.conftest import make_branch, make_member
from tests.test_meetings_reports import held_meeting

D = datetime.date
FIRST, LAST = D(2019, 5, 1), D(2019, 5, 31)


@pytest.fixture
def may(world):
    """May 2019 in Cao Tân: Cốc Lải meets twice (a regular meeting with a roll of 7, a
    thematic one), Nà Khâu holds nothing, the cadre moves from the office branch to
    Cốc Lải, one member dies, a task to help a poor household is set and done."""
    members = [make_member(world.branch, name=f"Đảng viên {i}") for i in range(5)]
    membership_move(member=world.cadre, to_branch=world.branch, on=D(2019, 5, 2))
    everyone = [world.member, world.cadre, *members]
    marks = dict.fromkeys(everyone[:4], "present")
    marks[everyone[4]] = "excused"
    marks[everyone[5]] = "absent"
    marks[everyone[6]] = "present"
    regular = held_meeting(world, world.branch, D(2019, 5, 10), marks)
    held_meeting(world, world.branch, D(2019, 5, 24), kind=MeetingKind.THEMATIC, topic="NTM")
    held_meeting(world, world.branch2, D(2019, 5, 15), hold=False)
    scope = scope_for(world.secretary)
    task = task_create(
        scope=scope,
        meeting=regular,
        description="Giúp hộ nghèo làm chuồng trại",
        due_on=D(2019, 5, 20),
        assignees=[world.member],
        household_head="Hoàng Văn Sình",
        household_village=world.village,
    )
    task_create(
        scope=scope,
        meeting=regular,
        description="Vận động làm đường",
        due_on=D(2019, 6, 20),
        assignees=[world.cadre],
    )
    later = held_meeting(world, world.branch, D(2019, 5, 28), kind=MeetingKind.EXTRAORDINARY)
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.DONE, closed_at=later)
    member_leave(member=members[0], on=D(2019, 5, 20), reason="died")
    return everyone


def _rows(path) -> dict[str, list[str]]:
    """Every table row of the document by its label (the second cell)."""
    document = docx.Document(path)
    rows = {}
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells]
            if len(cells) == 5:
                rows[cells[1]] = cells
    return rows


def _commune_counts(commune, first, last) -> dict:
    """The figures counted independently: every branch of the test world stays in its
    commune, so a plain join on Branch.commune is the truth."""
    held = Meeting.objects.filter(
        branch__commune=commune, date__gte=first, date__lte=last, status__in=TOOK_PLACE
    )
    lines = Attendance.objects.filter(meeting__in=held, standing="counted").exclude(presence="")
    on_last = Membership.objects.filter(
        Q(ended_on__isnull=True) | Q(ended_on__gt=last),
        kind="official",
        started_on__lte=last,
        branch__commune=commune,
    )
    return {
        "Tổng số đảng viên (cuối kỳ)": on_last.count(),
        "Đảng viên chính thức": on_last.filter(member__full_on__lte=last).count(),
        "Số buổi sinh hoạt chi bộ đã tổ chức": held.count(),
        "Sinh hoạt thường kỳ": held.filter(kind="regular").count(),
        "Sinh hoạt chuyên đề": held.filter(kind="thematic").count(),
        "Sinh hoạt bất thường": held.filter(kind="extraordinary").count(),
        "Lượt đảng viên phải dự": lines.count(),
        "Lượt đảng viên có mặt": lines.filter(presence="present").count(),
        "Lượt vắng có lý do": lines.filter(presence="excused").count(),
        "Lượt vắng không lý do": lines.filter(presence="absent").count(),
        "Nhiệm vụ được phân công trong kỳ": Task.objects.filter(meeting__in=held).count(),
        "Nhiệm vụ đã hoàn thành": Task.objects.filter(status="done", closed_at__in=held).count(),
        "Đảng viên từ trần": Membership.objects.filter(
            end_reason="died", ended_on__gte=first, ended_on__lte=last, branch__commune=commune
        ).count(),
        "Số chi bộ (cuối kỳ)": Branch.objects.filter(commune=commune).active_on(last).count(),
    }


def test_document_figures_match_independent_counts(world, may, tmp_path):
    out = tmp_path / "r.docx"
    call_command(
        "report_upward",
        unit="01885",
        first="2019-05-01",
        last="2019-05-31",
        out=str(out),
        stdout=io.StringIO(),
    )
    rows = _rows(out)
    expected = _commune_counts(world.commune, FIRST, LAST)
    # The world as the fixture tells it, so that the oracle itself is checked too.
    assert expected["Sinh hoạt thường kỳ"] == 1 and expected["Lượt đảng viên phải dự"] == 7
    for label, count in expected.items():
        assert rows[label][2] == str(count), label
    counted, present = expected["Lượt đảng viên phải dự"], expected["Lượt đảng viên có mặt"]
    assert rows["Tỷ lệ đảng viên dự sinh hoạt"][2] == f"{present / counted * 100:.1f} %".replace(
        ".", ","
    )
    # Inside the commune the cadre's move is neither in nor out; one household helped.
    assert rows["Đảng viên chuyển sinh hoạt đến"][2] == "0"
    assert rows["Số hộ được giúp đỡ (nhiệm vụ đã hoàn thành)"][2] == "1"
    # The previous period (April) beside: the members then, nothing held.
    april = _commune_counts(world.commune, D(2019, 4, 1), D(2019, 4, 30))
    assert rows["Tổng số đảng viên (cuối kỳ)"][3] == str(april["Tổng số đảng viên (cuối kỳ)"])
    assert rows["Số buổi sinh hoạt chi bộ đã tổ chức"][3] == "0"
    text = "\n".join(p.text for p in docx.Document(out).paragraphs)
    assert "BÁO CÁO" in text
    header = docx.Document(out).tables[0].rows[0].cells
    assert "ĐẢNG ỦY XÃ CAO TÂN" in header[0].text and "Số …-BC/ĐU" in header[0].text
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in header[1].text
    assert re.search(r"Cao Tân, ngày \d+ tháng \d+ năm \d{4}", header[1].text)
    signature = docx.Document(out).tables[-1].rows[0].cells[1].text
    assert "T/M ĐẢNG ỦY" in signature and "BÍ THƯ" in signature and "caotan" in signature


def test_the_dues_of_the_period_are_counted_where_the_branch_was(world, may, tmp_path):
    from meetings.models import DuesPayment

    paid_on = D(2019, 5, 10)
    lines = [
        (world.branch, world.member, D(2019, 5, 1), 10_000, 10_000, ""),
        (world.branch, world.cadre, D(2019, 5, 1), 12_000, 0, ""),  # behind, no reason
        (world.branch, may[2], D(2019, 5, 1), 5_000, 0, "ốm dài ngày"),
        (world.branch, may[3], D(2019, 6, 1), 5_000, 5_000, ""),  # June: not this period
        (world.other_branch, world.other_member, D(2019, 5, 1), 7_000, 0, ""),  # Giáo Hiệu
    ]
    for branch, member, month, due, paid, reason in lines:
        DuesPayment.objects.create(
            branch=branch,
            member=member,
            month=month,
            due=due,
            paid=paid,
            paid_on=paid_on if paid else None,
            reason=reason,
        )
    out = tmp_path / "r.docx"
    call_command(
        "report_upward",
        unit="01885",
        first="2019-05-01",
        last="2019-05-31",
        out=str(out),
        stdout=io.StringIO(),
    )
    rows = _rows(out)
    # Counted apart: Cao Tân's May lines only.
    mine = [line for line in lines if line[0].commune == world.commune and line[2].month == 5]
    due, paid = sum(line[3] for line in mine), sum(line[4] for line in mine)
    assert (due, paid) == (27_000, 10_000)
    assert rows["Đảng phí phải thu (đồng)"][2] == "27.000"
    assert rows["Đảng phí đã thu (đồng)"][2] == "10.000"
    assert rows["Đảng phí còn thiếu (đồng)"][2] == "17.000"
    assert rows["Tỷ lệ thu đảng phí"][2] == "37,0 %"
    assert rows["Đảng viên chưa nộp đủ, không có lý do"][2] == "1"
    assert rows["Đảng phí phải thu (đồng)"][3] == "0"  # April: nothing recorded
    assert rows["Đảng phí phải thu (đồng)"][4] == "+27.000"
    text = "\n".join(p.text for p in docx.Document(out).paragraphs)
    assert "Đảng phí phải thu 27.000 đồng, đã thu 10.000 đồng (đạt 37,0 %)" in text


def test_a_branch_counts_a_move_within_the_commune_as_a_move_in(world, may):
    unit = unit_by_code(world.branch.code, LAST)
    f = figures(unit, FIRST, LAST)
    assert f.moved_in == 1  # the cadre, from the office branch
    office = figures(unit_by_code(world.office.code, LAST), FIRST, LAST)
    assert office.moved_out == 1 and office.members == 0
    assert f.died == 1 and f.branches == 1


def test_a_merged_commune_reports_the_branches_it_had_each_month(world, may):
    """Cao Tân merges into a new commune on 1 July 2019: the new one's report of May to
    August counts Cao Tân's meetings of May, and its branches every month."""
    merged = Commune.objects.create(code="01879", name="Cao Minh", valid_from=D(2019, 7, 1))
    Commune.objects.filter(pk=world.commune.pk).update(valid_to=D(2019, 6, 30), merged_into=merged)
    for branch in (world.branch, world.branch2, world.office):
        BranchInCommune.objects.filter(branch=branch).update(valid_to=D(2019, 6, 30))
        BranchInCommune.objects.create(branch=branch, commune=merged, valid_from=D(2019, 7, 1))
    unit = unit_by_code("01879", D(2019, 8, 31))
    f = figures(unit, D(2019, 5, 1), D(2019, 8, 31))
    assert f.meetings == 3 and f.regular == 1
    assert [m["branches"] for m in f.months] == [3, 3, 3, 3]
    # A branch of another commune is not counted.
    make_branch(world.other_commune, name="Chi bộ xa")
    assert figures(unit, D(2019, 5, 1), D(2019, 8, 31)).branches == 3


def test_previous_period_is_as_many_months_before():
    assert previous_period(D(2026, 1, 1), D(2026, 6, 30)) == (D(2025, 7, 1), D(2025, 12, 31))
    assert previous_period(D(2026, 3, 1), D(2026, 3, 31)) == (D(2026, 2, 1), D(2026, 2, 28))
    assert previous_period(D(2026, 3, 5), D(2026, 3, 14)) == (D(2026, 2, 23), D(2026, 3, 4))


def test_the_command_refuses_an_unknown_code_and_a_bad_extension(world, tmp_path):
    with pytest.raises(CommandError, match="Không có đơn vị"):
        call_command(
            "report_upward",
            unit="99999",
            first="2019-05-01",
            last="2019-05-31",
            out=str(tmp_path / "r.docx"),
        )
    with pytest.raises(CommandError, match="không được hỗ trợ"):
        call_command(
            "report_upward",
            unit="01885",
            first="2019-05-01",
            last="2019-05-31",
            out=str(tmp_path / "r.pdf"),
        )


def test_the_odt_without_libreoffice_is_a_clear_error(world, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(CommandError, match="chưa cài LibreOffice"):
        call_command(
            "report_upward",
            unit="01885",
            first="2019-05-01",
            last="2019-05-31",
            out=str(tmp_path / "r.odt"),
        )


def test_a_communes_own_template_is_used_before_the_default(world, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    own = docx.Document()
    own.add_paragraph("MẪU RIÊNG {{ unit_name }}: {{ organisation[1].current }} đảng viên")
    buffer = io.BytesIO()
    own.save(buffer)
    template = ReportTemplate(commune=world.commune, valid_from=D(2019, 1, 1))
    template.file.save("cao-tan.docx", ContentFile(buffer.getvalue()))
    out = tmp_path / "r.docx"
    call_command(
        "report_upward",
        unit=world.branch.code,
        first="2019-05-01",
        last="2019-05-31",
        out=str(out),
        stdout=io.StringIO(),
    )
    text = docx.Document(out).paragraphs[0].text
    assert (
        text
        == f"MẪU RIÊNG Chi bộ thôn Cốc Lải: {Membership.objects.on(LAST).filter(branch=world.branch, kind='official').count()} đảng viên"
    )
    # Not valid on the report's last day: the default template again.
    ReportTemplate.objects.update(valid_from=D(2020, 1, 1))
    call_command(
        "report_upward",
        unit=world.branch.code,
        first="2019-05-01",
        last="2019-05-31",
        out=str(out),
        stdout=io.StringIO(),
    )
    assert "MẪU RIÊNG" not in "\n".join(p.text for p in docx.Document(out).paragraphs)


# --- The page ---

URL = "/reports/upward/"


def _query(code):
    return {"unit": code, "first": "01/05/2019", "last": "31/05/2019"}


@pytest.mark.parametrize(
    "who,code,status",
    [
        ("admin", "01885", 200),
        ("district", "01885", 200),
        ("province", "06", 200),
        ("secretary", "01885", 200),
        ("secretary", "branch", 200),
        ("branch_secretary", "branch", 200),
        ("branch_secretary", "01885", 404),
        ("outsider", "01885", 404),
        ("outsider", "branch", 404),
        ("nobody", "01885", 404),
    ],
)
def test_the_page_for_every_role(world, may, login, who, code, status):
    code = world.branch.code if code == "branch" else code
    client = login(getattr(world, who))
    response = client.get(URL, _query(code))
    assert response.status_code == status
    if status == 200:
        assert "Số buổi sinh hoạt chi bộ đã tổ chức" in response.content.decode()


def test_the_page_opens_with_the_users_own_unit(world, login):
    response = login(world.branch_secretary).get(URL)
    assert response.status_code == 200
    assert f'value="{world.branch.code}"' in response.content.decode()
    assert login(world.nobody).get(URL).status_code == 404


def test_the_page_downloads_the_document(world, may, login, tmp_path):
    response = login(world.secretary).get(URL, {**_query("01885"), "download": "docx"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.docx"')
    path = tmp_path / "d.docx"
    path.write_bytes(response.content)
    assert _rows(path)["Sinh hoạt thường kỳ"][2] == "1"


def test_the_preview_takes_a_fixed_number_of_queries(world, may, login, django_assert_num_queries):
    client = login(world.secretary)
    client.get(URL, _query("01885"))  # the session and the role, read once
    with django_assert_num_queries(QUERIES) as captured:
        client.get(URL, _query("01885"))
    for i in range(3):
        make_member(world.branch2, name=f"Thêm {i}")
        held_meeting(
            world, world.branch2, D(2019, 5, 10 + i), kind=MeetingKind.THEMATIC, topic=str(i)
        )
    with django_assert_num_queries(len(captured)):
        client.get(URL, _query("01885"))


# Two periods of figures, each with one query for its dues.
QUERIES = 32


# --- The PDF LibreOffice renders ---

NO_SOFFICE = "LibreOffice (soffice) and pdfinfo are not installed: make browser-setup"


@pytest.mark.skipif(not (shutil.which("soffice") and shutil.which("pdfinfo")), reason=NO_SOFFICE)
def test_the_pdf_is_a_party_report_within_its_pages(world, may, tmp_path):
    out = tmp_path / "r.docx"
    call_command(
        "report_upward",
        unit="01885",
        first="2019-05-01",
        last="2019-05-31",
        out=str(out),
        stdout=io.StringIO(),
    )
    from overview.documents.report_upward import convert

    pdf = convert(out, "pdf", tmp_path)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert 1 <= pages <= 3
    assert (round(width), round(height)) == (595, 842)  # A4
    # Every word's box inside the page, at least 10 mm (28 pt) from its edges.
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    words = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        boxes,
    )
    assert len(words) > 100
    for x0, y0, x1, y1, word in words:
        assert float(x0) >= 28 and float(x1) <= width - 28, word
        assert float(y0) >= 28 and float(y1) <= height - 28, word
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in text and "BÁO CÁO" in text


@pytest.mark.skipif(not shutil.which("soffice"), reason=NO_SOFFICE)
def test_the_odt_opens_as_a_document(world, may, tmp_path):
    out = tmp_path / "r.odt"
    call_command(
        "report_upward",
        unit="01885",
        first="2019-05-01",
        last="2019-05-31",
        out=str(out),
        stdout=io.StringIO(),
    )
    import zipfile

    with zipfile.ZipFile(out) as odt:
        assert odt.read("mimetype") == b"application/vnd.oasis.opendocument.text"
        assert "ĐẢNG CỘNG SẢN VIỆT NAM" in odt.read("content.xml").decode()
