"""Text helpers shared by every app."""

import unicodedata


def fold(text: str) -> str:
    """Lower-case, accent-free form of a Vietnamese name for search.

    "Lý Thị Huyền" -> "ly thi huyen". The letter đ has no decomposition in
    Unicode, so it is mapped by hand.
    """
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())
