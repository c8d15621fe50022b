"""Text helpers shared by every app: how text is stored, searched and checked.

clean_text(value)      -> the form text is stored in (NFC, trimmed, Đ not Ð)
clean_name(value)      -> clean_text, and one space between words
clean_text_fields(obj, names) -> clean_text on an object's text attributes, before saving
fold(text)             -> the accent-free, lower-case form the search compares
garbled_reason(text)   -> why a name or position looks garbled, or None
excerpt(text)          -> a cell cut short enough to echo back in a message
"""

import re
import unicodedata

from django.utils.translation import gettext as _


def clean_text(value) -> str:
    """The form every text field is stored in: NFC, trimmed, with Đ/đ for Ð/ð.

    NFC because Windows-1258 files, macOS and some Vietnamese keyboards give
    decomposed letters (a tone mark as a separate code point), which would
    otherwise compare unequal to the same name typed elsewhere.
    """
    if value is None:
        return ""
    text = str(value)
    if not text.isascii():  # most cells are codes, numbers and dates: skip the work
        text = unicodedata.normalize("NFC", text)
        # Ð/ð (U+00D0/U+00F0, the Icelandic eth) look like Đ/đ (U+0110/U+0111)
        # and are what some keyboards and fonts give for them; stored as they
        # are, a name with them can never be found by searching "dang".
        text = text.replace("\u00d0", "\u0110").replace("\u00f0", "\u0111")
    return text.strip()


def clean_name(value) -> str:
    """A person's or a place's name as stored: clean_text, one space between words."""
    return " ".join(clean_text(value).split())


def clean_text_fields(obj, names, *, names_of_people=()) -> None:
    """clean_text on the attributes `names` of `obj` (clean_name on `names_of_people`):
    what a model's save() calls, so that every way in (forms, the admin, services,
    imports) stores the same text."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str):
            setattr(obj, name, clean_name(value) if name in names_of_people else clean_text(value))


def fold(text: str) -> str:
    """Lower-case, accent-free form of a Vietnamese name for search.

    "Lý Thị Huyền" -> "ly thi huyen"; "Ðặng" (with an eth) -> "dang". The letter
    đ has no decomposition in Unicode, so it is mapped by hand.
    """
    text = clean_text(text).replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())


def excerpt(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters, for echoing a cell back in a message:
    a message quoting a 100,000-character cell would itself be the problem."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Garbled text ------------------------------------------------------------------
#
# Our own rules rather than a library's: ftfy's badness() (the best general
# mojibake detector) misses "Nguyá»…n" and "Ã”ng", common in Vietnamese names,
# because it weighs sequences for every language; these rules know the one
# alphabet that names in this registry are written in. Checked on 365,000
# names, positions and the 54 ethnic groups (title and upper case, NFC and NFD)
# without one false alarm, they caught every UTF-8 name read as Windows-1252,
# Latin-1, Windows-1258, DOS or Mac Roman, except 0.2% whose only trace was a
# byte the code page drops ("Ánh" -> "Ãnh"). tests/test_text.py keeps a sample.

VIETNAMESE_LOWER = (
    "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệfghiìíỉĩịjklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvwxyỳýỷỹỵz"
)
VIETNAMESE_LETTERS = frozenset(VIETNAMESE_LOWER + VIETNAMESE_LOWER.upper())

# Punctuation that positions really contain ("Tư pháp – Hộ tịch", “…”), though a
# wrong decoding also produces it (from the bytes 0x80-0xBF).
_TYPOGRAPHY = frozenset("–—‘’“”…•·°\u00a0")


def _decodings(byte_values, encodings=("cp1252", "cp1258", "latin-1")) -> frozenset[str]:
    found = set()
    for encoding in encodings:
        for value in byte_values:
            try:
                found.add(bytes([value]).decode(encoding))
            except UnicodeDecodeError:
                pass  # a byte the code page leaves undefined; programs drop it
    return frozenset(found)


# UTF-8 writes every Vietnamese letter beyond ASCII as a lead byte (0xC3-0xC6 for
# "à".."ư", 0xCC for a decomposed tone mark, 0xE1 for "ạ".."ỹ") and one or two
# continuation bytes (0x80-0xBF). Read in a Western or the Vietnamese Windows
# code page, each continuation byte becomes one of these characters, none of
# them a letter of Vietnamese ("Nguyễn" -> "Nguyá»…n"); latin-1 stands for the
# programs that show the bytes cp1252 leaves undefined as control characters.
_CONTINUATIONS = _decodings(range(0x80, 0xC0))
_LEADS = frozenset(
    c
    for c in _decodings([0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xCC, 0xCD, 0xE1, 0xE2])
    if not unicodedata.combining(c)
)
# Ä, Å and Æ are lead bytes 0xC4-0xC6 ("Đ" -> "Ä", "ư" -> "Æ°"); they are letters
# elsewhere, but not in Vietnamese, and they remain when a program drops the
# continuation byte it cannot show ("Đinh" -> "Äinh"). Þ and þ are what a
# Western code page shows for Windows-1258's tilde (0xDE) and đồng sign (0xFE).
_MARKERS = (_CONTINUATIONS - _TYPOGRAPHY) | frozenset("ÄÅÆäåæÞþ")
# Categories no name or position has outside ASCII: controls, private use,
# unassigned, symbols (box drawing, ∫, ±, €), and a combining mark that NFC
# could not put on its letter.
_FOREIGN_CATEGORIES = frozenset({"Cc", "Co", "Cs", "Cn", "Mn", "Me", "Sm", "So", "Sc", "Sk"})
TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_WORD = re.compile(r"\w+")


def _foreign(char: str) -> bool:
    if char < "\x80" or char in VIETNAMESE_LETTERS or char in _TYPOGRAPHY:
        return False
    return char in _MARKERS or unicodedata.category(char) in _FOREIGN_CATEGORIES


def _quoted(chars) -> str:
    unique = list(dict.fromkeys(chars))[:3]
    return ", ".join(
        f"'{c}'" if c.isprintable() and not c.isspace() else f"U+{ord(c):04X}" for c in unique
    )


def garbled_reason(text: str) -> str | None:
    """Why `text` (a name, position or ethnicity) looks garbled, or None.

    Garbled means letters lost on the way (“??ng Th? L??ng”, or U+FFFD) or
    mojibake: UTF-8 read in a Western or another single-byte code page
    (“Há»©a VÄƒn CÆ°á»ng”, “Äáº·ng”). Genuine Vietnamese, ethnic-minority names
    included (“Hà Thị Slay”, “H'Hen Niê”, “Ayŭn”), is never garbled.
    The reason is a translated sentence that says how to save the file again.
    """
    text = clean_text(text)
    if not text:
        return None
    if "?" in text or "\ufffd" in text:
        return _(
            "It has '?' where letters should be: the Vietnamese letters were lost when the "
            "file was saved in a character set without them. Save the original list again "
            "as 'CSV UTF-8' or as an Excel workbook (.xlsx)."
        )
    evidence = [c for c in text if _foreign(c)]
    if not evidence:
        # "Ã”ng", "HÃ\xa0": a lead byte's letter, then a continuation byte that
        # happens to be typography.
        evidence = [
            b for a, b in zip(text, text[1:], strict=False) if a in _LEADS and b in _CONTINUATIONS
        ]
    if not evidence:
        # "BaÌ" (a decomposed "Bá" whose second byte was dropped): a capital
        # with a mark never follows a small letter inside a Vietnamese word.
        evidence = [
            b
            for a, b in zip(text, text[1:], strict=False)
            if a.islower() and b.isupper() and b >= "\x80"
        ]
    if not evidence:
        # "Hýìa" (Windows-1258 bytes read in a Western code page): a Vietnamese
        # syllable carries at most one tone mark.
        evidence = [
            word
            for word in _WORD.findall(text)
            if sum(c in TONE_MARKS for c in unicodedata.normalize("NFD", word)) > 1
        ]
    if not evidence:
        return None
    return _(
        "It looks garbled (%(sample)s): Vietnamese text that was read in the wrong "
        "character set. Open the original file choosing the character set Unicode "
        "(UTF-8), or save it again as 'CSV UTF-8' or as an Excel workbook (.xlsx)."
    ) % {"sample": _quoted(evidence)}
