"""`manage.py report_upward --unit CODE --from YYYY-MM-DD --to YYYY-MM-DD --out FILE`:
the report upward of a branch, commune or province (the unit that bore CODE on --to),
as .docx or .odt by the file's extension."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from overview.documents.report_upward import DocumentError, render
from overview.selectors.report_upward import unit_by_code


def _day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"Ngày “{text}” không hợp lệ: viết theo dạng YYYY-MM-DD.") from exc


class Command(BaseCommand):
    help = "Drafts the report upward of a unit for a period (.docx, or .odt through LibreOffice)."

    def add_arguments(self, parser):
        parser.add_argument("--unit", required=True, help="branch, commune or province code")
        parser.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="last", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--out", required=True, help="file to write: .docx or .odt")
        parser.add_argument("--dated", help="the date on the document (default: today)")

    def handle(self, *args, unit, first, last, out, dated=None, **options):
        first, last = _day(first), _day(last)
        if last < first:
            raise CommandError("Ngày cuối kỳ phải sau ngày đầu kỳ.")
        found = unit_by_code(unit, last)
        if found is None:
            raise CommandError(f"Không có đơn vị nào mang mã {unit} vào ngày {last:%d/%m/%Y}.")
        try:
            path = render(found, first, last, out, dated=_day(dated) if dated else None)
        except DocumentError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{found.name} ({found.code}): {path}")
