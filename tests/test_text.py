"""pacnam.lib.text: text stored right (issue 15) and garbled text told apart from Vietnamese."""

import unicodedata

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from pacnam.lib.text import clean_text, excerpt, fold, garbled_reason

# Real names of the kinds the registry holds: every tone on every vowel, Đ, the
# ethnic minorities of Bắc Kạn (Tày, Nùng, Dao, H'Mông) and of the Central
# Highlands, whose Latin orthographies use the breve (Ayŭn).
NAMES = [
    "Lý Thị Huyền",
    "Hứa Văn Cường",
    "Nguyễn Văn Đạt",
    "Đặng Thị Lương",
    "Hà Thị Slay",
    "Lý Văn Páo",
    "Nông Thị Mỷ",
    "Triệu Thị Mây",
    "Ma Thị Lan",
    "Hoàng Văn Slông",
    "Lò Văn Pấu",
    "Giàng A Páo",
    "Sùng Thị Mỷ",
    "Vàng Seo Pao",
    "Bàn Văn Chàng",
    "Thào A Tủa",
    "Ly Seo Dìn",
    "Lục Văn Sểnh",
    "Ưng Thị Ửng",
    "Âu Thị Ẩn",
    "Ông Văn Ổn",
    "Đỗ Ngọc Ỷ",
    "Phạm Thị Ỵ",
    "Trần Văn Ỹ",
    "Bùi Thị Ỳ",
    "Võ Thị Ý",
    "Quách Thị Ánh",
    "Đinh Thị Ầu",
    "Lã Văn Ẫn",
    "Tạ Thị Ặt",
    "Ninh Văn Ẻn",
    "Khổng Thị Ễ",
    "Dương Văn Ệ",
    "Hồ Thị Ỉ",
    "Ngô Văn Ị",
    "Chu Thị Ọ",
    "Lương Văn Ố",
    "Lục Thị Ồ",
    "Mông Văn Ỗ",
    "Đàm Thị Ộ",
    "Quan Văn Ớ",
    "Hầu Thị Ờ",
    "Nịnh Văn Ở",
    "Lộc Thị Ỡ",
    "Mạc Văn Ợ",
    "Lâm Thị Ụ",
    "Vi Văn Ủ",
    "Nghiêm Thị Ứ",
    "Lành Văn Ừ",
    "Sầm Thị Ữ",
    "Bế Văn Ự",
    "Hoàng Thị Ẵm",
    "Nguyễn Thị Thuỷ",
    "Nguyễn Thị Thủy",
    "Phùng Thị Hoà",
    "Ksor H'Bla",
    "H'Hen Niê",
    "Y Ngông Niê Kdăm",
    "Ayŭn H'Bia",
    "Y Kŏ Niê",
    "Nay Phin",
    "Rơ Châm Ớt",
    "Đinh Thị Ánh",
    "Lê Ý Lan",
    "Hà Văn Ðường",
]
POSITIONS = [
    "Bí thư chi bộ",
    "Phó Bí thư Đảng ủy xã",
    "Chủ tịch UBND xã",
    "Trưởng thôn",
    "Cán bộ Tư pháp – Hộ tịch",
    "Cán bộ Văn phòng - Thống kê",
    "Bí thư Đoàn TNCS Hồ Chí Minh",
    "Trưởng Công an xã, Bí thư chi bộ",
    "Ủy viên BCH (nhiệm kỳ 2015–2020)",
    "Uỷ viên Ủy ban MTTQ",
    "“Tổ trưởng” tổ dân phố số 5",
    "Phó CT Hội CCB; Ủy viên…",
    "Chỉ huy trưởng Quân sự",
    "Y sĩ trạm y tế",
    "Nông dân",
    "Hưu trí",
]
ETHNICITIES = [
    "Kinh",
    "Tày",
    "Thái",
    "Mường",
    "Khmer",
    "Hoa",
    "Nùng",
    "Mông",
    "H'Mông",
    "H’Mông",
    "Dao",
    "Gia Rai",
    "Ê Đê",
    "Ba Na",
    "Xơ Đăng",
    "Sán Chay",
    "Cơ Ho",
    "Chăm",
    "Sán Dìu",
    "Hrê",
    "Ra Glai",
    "Mnông",
    "Thổ",
    "Xtiêng",
    "Khơ Mú",
    "Bru - Vân Kiều",
    "Cơ Tu",
    "Giáy",
    "Tà Ôi",
    "Mạ",
    "Giẻ Triêng",
    "Co",
    "Chơ Ro",
    "Xinh Mun",
    "Hà Nhì",
    "Chu Ru",
    "Lào",
    "La Chí",
    "Kháng",
    "Phù Lá",
    "La Hủ",
    "La Ha",
    "Pà Thẻn",
    "Lự",
    "Ngái",
    "Chứt",
    "Lô Lô",
    "Mảng",
    "Cơ Lao",
    "Bố Y",
    "Cống",
    "Si La",
    "Pu Péo",
    "Rơ Măm",
    "Brâu",
    "Ơ Đu",
]
GENUINE = NAMES + POSITIONS + ETHNICITIES


def test_clean_text_composes_trims_and_replaces_the_eth():
    decomposed = unicodedata.normalize("NFD", "Hứa Văn Cường")
    assert len(decomposed) == 19  # what a Windows-1258 file or a Mac gives for 13 characters
    assert clean_text(f"  {decomposed}\t") == "Hứa Văn Cường"
    assert len(clean_text(decomposed)) == 13
    assert clean_text("Ðặng Thị Ðào") == "Đặng Thị Đào"
    assert clean_text("ðường") == "đường"
    assert clean_text(None) == "" and clean_text(6182339563) == "6182339563"


def test_fold_finds_an_eth_name_by_dang():
    assert fold("Ðặng") == "dang" == fold("Đặng") == fold("đặng")
    assert fold("  LÝ  Thị\u00a0HUYỀN ") == "ly thi huyen"
    assert fold(unicodedata.normalize("NFD", "Hứa Văn Cường")) == "hua van cuong"


def test_excerpt_caps_what_a_message_echoes():
    assert excerpt("x" * 10_000) == "x" * 59 + "…"
    assert excerpt("Nông Thị Mỷ") == "Nông Thị Mỷ"
    assert len(excerpt("y" * 500, 20)) == 20


@pytest.mark.parametrize("text", GENUINE)
def test_genuine_vietnamese_is_never_garbled(text):
    for form in (text, text.upper(), text.lower(), unicodedata.normalize("NFD", text)):
        assert garbled_reason(form) is None, form


# Generated names, as a district's list has them: any surname, middle and given
# name, in title or upper case, composed or decomposed.
SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Đặng",
    "Lý",
    "Hà",
    "Nông",
    "Triệu",
    "Lò",
    "Giàng",
    "Sùng",
    "Vàng",
    "Thào",
    "Bàn",
    "Lục",
    "Ưng",
    "Âu",
    "Ông",
    "Ứng",
    "Ầu",
    "Khổng",
]
MIDDLES = ["Văn", "Thị", "Đức", "Hữu", "Quốc", "Ngọc", "A", "Seo", "Mí", "Ánh", "Thế", "Bá"]
GIVEN = [
    "Ánh",
    "Ẩn",
    "Bằng",
    "Cường",
    "Điệp",
    "Hằng",
    "Huyền",
    "Hưởng",
    "Mỷ",
    "Ngã",
    "Nghĩa",
    "Páo",
    "Pấu",
    "Slay",
    "Sửu",
    "Thuỷ",
    "Tủa",
    "Ước",
    "Út",
    "Ỷ",
    "Ỳ",
    "Ý",
    "Ẵm",
    "Ẫn",
    "Ặt",
    "Ễ",
    "Ỗn",
    "Ợ",
    "Ự",
    "Ỹ",
    "Ơn",
    "Dìn",
    "Sểnh",
    "Ởn",
    "Ọ",
    "Ị",
]


@given(
    st.sampled_from(SURNAMES),
    st.sampled_from(MIDDLES),
    st.sampled_from(GIVEN),
    st.sampled_from([str, str.upper, lambda t: unicodedata.normalize("NFD", t)]),
)
def test_generated_names_are_never_garbled(surname, middle, given_name, form):
    assert garbled_reason(form(f"{surname} {middle} {given_name}")) is None


def _mojibake(text, encoding):
    """UTF-8 bytes shown in a single-byte code page, undefined bytes dropped, as
    LibreOffice or Excel do when a file is opened with the wrong character set."""
    return text.encode("utf-8").decode(encoding, errors="ignore")


ISSUE_EXAMPLES = ["Há»©a VÄƒn CÆ°á»ng", "Nguyá»…n", "Äáº·ng"]


@pytest.mark.parametrize("text", ISSUE_EXAMPLES)
def test_the_issues_mojibake_is_garbled(text):
    with translation.override("en"):
        reason = garbled_reason(text)
    assert reason is not None and "wrong character set" in reason and "CSV UTF-8" in reason


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "cp1258"])
def test_names_read_in_a_western_code_page_are_garbled(encoding):
    # Names whose mojibake keeps a mark (all but those where the only trace of a
    # letter was a byte the code page drops, e.g. "Ánh" -> "Ãnh").
    missed = [
        name
        for name in NAMES + POSITIONS + ETHNICITIES
        if _mojibake(name, encoding) != name and garbled_reason(_mojibake(name, encoding)) is None
    ]
    assert missed == []


@pytest.mark.parametrize("encoding", ["cp437", "cp850", "mac_roman"])
def test_names_read_in_a_dos_or_mac_code_page_are_garbled(encoding):
    # Box drawing, maths and other symbols no name has ("Phan C├┤ng Sl├┤ng").
    assert all(garbled_reason(_mojibake(name, encoding)) for name in NAMES if not name.isascii())


def test_mojibake_in_capitals_and_decomposed_is_garbled():
    assert garbled_reason(_mojibake("NGUYỄN VĂN ĐẠT", "cp1252"))
    assert garbled_reason(_mojibake("Ông Thanh Lan", "cp1252"))  # "Ã”ng": the mark is typography
    assert garbled_reason(
        _mojibake(unicodedata.normalize("NFD", "Phan Bá Út"), "cp1252")
    )  # "BaÌ UÌt"
    # Windows-1258 bytes read as Western: "Hứa" -> "Hýìa", two tones in one syllable.
    cp1258_bytes = "H\u01b0\u0301a".encode("cp1258")
    assert garbled_reason(cp1258_bytes.decode("cp1252")) is not None
    # "NGUYỄN" in Windows-1258 read as Western: its tilde byte shows as "Þ".
    reason = garbled_reason("NGUY\u00ca\u0303N".encode("cp1258").decode("cp1252"))
    assert reason is not None and "'Þ'" in reason


@pytest.mark.parametrize("text", ["??ng Th? L??ng", "Nguy?n V?n A", "? ??", "Tr\ufffdn V\ufffdn A"])
def test_question_marks_for_letters_are_garbled(text):
    with translation.override("en"):
        reason = garbled_reason(text)
    assert reason is not None and "'?'" in reason


def test_the_reason_names_what_it_saw_and_is_translated():
    with translation.override("en"):
        english = [garbled_reason("Äáº·ng"), garbled_reason("??ng")]
    with translation.override("vi"):
        vietnamese = [garbled_reason("Äáº·ng"), garbled_reason("??ng")]
    assert "'Ä', 'º'" in english[0] and "'Ä', 'º'" in vietnamese[0]
    assert all(v != e for v, e in zip(vietnamese, english, strict=True))


def test_empty_and_ascii_are_not_garbled():
    assert garbled_reason("") is None and garbled_reason("   ") is None
    assert garbled_reason("Nguyen Van A") is None and garbled_reason("Ksor H'Bla (2)") is None
