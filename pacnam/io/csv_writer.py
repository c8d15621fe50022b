"""CSV as the registry writes it: every file, the member export and the reports alike.

A cell that starts with = + - @ (or a tab or carriage return) is a formula to
Excel and LibreOffice: `=HYPERLINK("http://…","Chi bộ")` in a branch code
would run when an officer opens the report (CSV injection). `neutralise`
puts a single quote before such text, which the spreadsheet shows as text
and the registry's import takes off again (members.importing). It leaves an
already neutralised value as it is, so neutralising twice changes nothing.
Numbers are not text and are left alone.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Text that starts like a formula gets a leading quote (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralised(row: Iterable) -> list:
    return [neutralise(value) for value in row]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_chunks(
    rows: Iterable[Iterable],
    *,
    bom: bool = False,
    rows_per_chunk: int = 500,
    lineterminator: str = "\r\n",
) -> Iterator[str]:
    """CSV text in chunks (for a StreamingHttpResponse or a file), every cell neutralised."""
    writer = csv.writer(_Echo(), lineterminator=lineterminator)
    try:
        if bom:
            yield "\ufeff"
        buffer: list[str] = []
        for row in rows:
            buffer.append(writer.writerow(neutralised(row)))
            if len(buffer) >= rows_per_chunk:
                yield "".join(buffer)
                buffer = []
        if buffer:
            yield "".join(buffer)
    finally:
        # A download stopped half-way closes this generator: close the rows' too, now
        # (not whenever it is collected), so that what they do at the end (the read
        # log's entry) happens while the request's database connection is still there.
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def write_csv(rows: Iterable[Iterable], stream, *, lineterminator: str = "\r\n") -> None:
    """Write CSV text to a text stream (standard output or a file), every cell neutralised."""
    for chunk in csv_chunks(rows, lineterminator=lineterminator):
        stream.write(chunk)
