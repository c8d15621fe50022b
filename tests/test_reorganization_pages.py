"""The reorganisation pages (issue 13): the plan's errors by row, the preview's
figures, the confirmation writing once, the undo asking first; a fixed number of
queries. Which roles may open them is in the permission matrix."""

import datetime

from branches.models import Commune, Reorganization
from tests.conftest import make_commune

PLAN = (
    "old_code,new_code,new_name,province_code,province_name\n01885,01885,Cao Minh,19,Thái Nguyên\n"
)


def _post(client, plan=PLAN, **extra):
    data = {"on": "01/07/2025", "decision": "1683/NQ-UBTVQH15", "plan": plan, **extra}
    return client.post("/reorganizations/new/", data)


def test_the_preview_shows_what_each_new_commune_will_hold_and_writes_nothing(world, login):
    response = _post(login(world.district), preview="1")
    assert response.status_code == 200
    [line] = response.context["summary"]
    assert (line["name"], line["villages"], line["branches"], line["members"]) == (
        "Cao Minh",
        2,
        3,
        2,
    )
    assert not Reorganization.objects.exists()


def test_errors_are_shown_by_row_and_nothing_is_written(world, login):
    make_commune("01879", "Cổ Linh")
    plan = PLAN + "01999,01879,Cao Minh,19,Thái Nguyên\n"
    response = _post(login(world.district), plan=plan, apply="1")
    assert response.status_code == 400
    assert any(str(e).startswith("row 3: old_code: ") for e in response.context["errors"])
    assert not Reorganization.objects.exists()


def test_applying_writes_one_reorganisation_and_shows_it(world, login):
    response = _post(login(world.district), apply="1")
    reorganization = Reorganization.objects.get()
    assert (
        response.status_code == 302
        and response["Location"] == f"/reorganizations/{reorganization.pk}/"
    )
    assert Commune.objects.by_code("01885", datetime.date(2026, 1, 1)).name == "Cao Minh"
    assert reorganization.performed_by == world.district


def test_a_secretary_may_not_merge_a_commune_of_the_district(world, login):
    # The page is an officer's: a commune secretary gets a 404, not the form.
    assert login(world.secretary).get("/reorganizations/new/").status_code == 404


def test_pages_take_a_fixed_number_of_queries(world, login, django_assert_num_queries):
    client = login(world.district)
    _post(client, apply="1")
    reorganization = Reorganization.objects.get()
    client.get("/reorganizations/")
    # session, user, role, the reorganisations with who applied and undid them,
    # the sliding session's save (savepoint, update, release).
    with django_assert_num_queries(7):
        assert client.get("/reorganizations/").status_code == 200
    # session, user, role, the reorganisation, whether it can be undone (a unit's,
    # a village's or a commune's period moved again: 3; things placed in the new
    # communes, roles, edits since: 7), the session's save (3).
    with django_assert_num_queries(17):
        assert client.get(f"/reorganizations/{reorganization.pk}/").status_code == 200


# --- The plan as an office has it: Vietnamese titles, title rows, any order ---


def _office_plan(*rows) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["PHƯƠNG ÁN SẮP XẾP ĐƠN VỊ HÀNH CHÍNH CẤP XÃ"])
    sheet.merge_cells("A1:F1")
    sheet.append([])
    sheet.append(["STT", "Tên xã cũ", "Mã xã cũ", "Tên xã mới", "Mã xã mới", "Mã tỉnh", "Tên tỉnh"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(client, data: bytes, **extra):
    import io

    file = io.BytesIO(data)
    file.name = "phuong-an.xlsx"
    return client.post(
        "/reorganizations/new/",
        {"on": "01/07/2025", "decision": "1683/NQ-UBTVQH15", "file": file, **extra},
    )


def test_a_plan_with_vietnamese_titles_below_a_title_row_is_read(world, login):
    data = _office_plan([1, "Cao Tân", "01885", "Cao Minh", "01885", "19", "Thái Nguyên"])
    response = _upload(login(world.district), data, preview="1")
    assert response.status_code == 200, response.context.get("error_lines")
    [line] = response.context["summary"]
    assert (line["name"], line["members"]) == ("Cao Minh", 2)


def test_a_plans_errors_are_in_vietnamese_by_the_files_row_and_title(world, login):
    data = _office_plan(
        [1, "Cao Tân", "01885", "Cao Minh", "01885", "19", "Thái Nguyên"],
        [2, "Không có", "01999", "Cao Minh", "01885", "19", "Thái Nguyên"],
    )
    response = _upload(login(world.district), data, preview="1")
    assert response.status_code == 400
    # Row 5 of the sheet (a title row, a blank one, the header, then the rows).
    assert any(line.startswith("Dòng 5, Mã xã cũ: ") for line in response.context["error_lines"]), (
        response.context["error_lines"]
    )
    assert "old_code" not in response.content.decode().split("<h2>")[-1].split("</section>")[0]


def test_a_plan_lacking_a_column_names_it_by_its_title(world, login):
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Mã xã cũ", "Mã xã mới", "Tên xã mới", "Mã tỉnh"])
    book.active.append(["01885", "01885", "Cao Minh", "19"])
    out = io.BytesIO()
    book.save(out)
    response = _upload(login(world.district), out.getvalue(), preview="1")
    assert response.status_code == 400
    [line] = response.context["error_lines"]
    assert line.startswith("Dòng 1, dòng tiêu đề cột: ") and "Tên tỉnh" in line, line
