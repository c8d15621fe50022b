"""The dues rates and shares of the two regulations the registry spans, as data.

Quyết định 342-QĐ/TW of the Politburo (28/12/2010) until 31/01/2026; Quy định
01-QĐ/TW (03/02/2026, in force from 01/02/2026) since. A figure read in the
text is `confirmed`; one taken from press reports or carried over from the
earlier rule is not, and its note says so: correct it in the admin when the
text is at hand (a corrected rate changes the amounts due of months not yet
recorded; a recorded payment keeps the amount due it was recorded with).
Reversible: the rows it loads are removed by their source.
"""

import datetime
from decimal import Decimal

from django.db import migrations

Q342 = "Quyết định 342-QĐ/TW (Bộ Chính trị, 28/12/2010)"
Q01 = "Quy định 01-QĐ/TW (03/02/2026, hiệu lực từ 01/02/2026)"
START_342 = datetime.date(2011, 1, 1)
END_342 = datetime.date(2026, 1, 31)
START_01 = datetime.date(2026, 2, 1)
PRESS = "Theo báo chí đưa tin về văn bản; chưa đối chiếu nguyên văn."
CARRIED = "Mức của 342-QĐ/TW giữ nguyên; chưa đối chiếu với 01-QĐ/TW."
UNSURE_342 = "Mức theo tài liệu tham khảo; chưa đối chiếu nguyên văn 342-QĐ/TW."

# category, kind, value, confirmed, note
RATES_342 = [
    (
        "salary",
        "percent",
        "1",
        True,
        "1 % tiền lương, các khoản phụ cấp, tiền công, sinh hoạt phí.",
    ),
    ("allowance", "percent", "1", False, "1 % phụ cấp hằng tháng. " + UNSURE_342),
    ("pension", "percent", "0.5", True, "0,5 % lương hưu, trợ cấp bảo hiểm xã hội."),
    ("rural", "fixed", "2000", False, UNSURE_342),
    ("urban", "fixed", "3000", False, UNSURE_342),
    ("student", "fixed", "2000", False, UNSURE_342),
    ("exempt", "fixed", "0", False, "Miễn, giảm do cấp ủy cơ sở xét. " + UNSURE_342),
]
RATES_01 = [
    ("salary", "percent", "1", False, "1 % tiền lương tháng trước làm căn cứ đóng BHXH. " + PRESS),
    ("allowance", "percent", "1", False, CARRIED),
    ("pension", "percent", "0.5", False, "0,5 % lương hưu. " + PRESS),
    ("rural", "fixed", "2000", False, CARRIED),
    ("urban", "fixed", "3000", False, CARRIED),
    ("student", "fixed", "5000", False, PRESS),
    ("exempt", "fixed", "0", False, CARRIED),
]
SHARES = [
    (
        "branch",
        "30",
        START_342,
        END_342,
        Q342,
        "Chi bộ trích giữ lại 30 %, nộp lên 70 %. " + UNSURE_342,
    ),
    (
        "commune",
        "90",
        START_342,
        END_342,
        Q342,
        "Đảng bộ xã giữ lại 90 % số nhận được. " + UNSURE_342,
    ),
    ("branch", "30", START_01, None, Q01, CARRIED),
    ("commune", "90", START_01, None, Q01, CARRIED),
]


def load(apps, schema_editor):
    DuesRate = apps.get_model("meetings", "DuesRate")
    DuesShare = apps.get_model("meetings", "DuesShare")
    for rows, start, end, source in (
        (RATES_342, START_342, END_342, Q342),
        (RATES_01, START_01, None, Q01),
    ):
        for category, kind, value, confirmed, note in rows:
            DuesRate.objects.create(
                category=category,
                kind=kind,
                value=Decimal(value),
                valid_from=start,
                valid_to=end,
                confirmed=confirmed,
                source=source,
                note=note,
            )
    for level, keep, start, end, source, note in SHARES:
        DuesShare.objects.create(
            level=level,
            keep_percent=Decimal(keep),
            valid_from=start,
            valid_to=end,
            confirmed=False,
            source=source,
            note=note,
        )


def unload(apps, schema_editor):
    for name in ("DuesRate", "DuesShare"):
        apps.get_model("meetings", name).objects.filter(source__in=[Q342, Q01]).delete()


class Migration(migrations.Migration):
    dependencies = [("meetings", "0006_dues")]

    operations = [migrations.RunPython(load, unload)]
