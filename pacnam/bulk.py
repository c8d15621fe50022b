"""Bulk inserts with COPY on PostgreSQL (issue 7).

Django's bulk_create spends most of its time in Python preparing each value of
each row; COPY takes the rows as text. Used by the import (through
members.services.member_create_many) and the synthetic data. Ids are taken
from the table's sequence first, so the objects have their pk afterwards, as
after bulk_create, and rows can point at each other.
"""

import datetime
import json

from django.conf import settings
from django.db import connection
from django.utils import timezone

# Values whose str() is already COPY's text for the column (get_db_prep_save is
# the identity for them on PostgreSQL, and costs a call per value).
PLAIN = {str, int, bool, type(None), datetime.date, datetime.datetime}


def copy_text(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    text = value if isinstance(value, str) else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def copy_insert(model, objs: list) -> list:
    """Insert `objs` (unsaved instances of `model`) with one COPY; PostgreSQL only.

    Runs each field's pre_save (auto_now and the like) and get_db_prep_save, as
    bulk_create does; no save() and no signals, as with bulk_create."""
    if not objs:
        return objs
    meta = model._meta
    quote = connection.ops.quote_name
    missing = [obj for obj in objs if obj.pk is None]
    if missing:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(missing)],
            )
            for obj, (pk,) in zip(missing, cursor.fetchall(), strict=True):
                obj.pk = pk
    fields = list(meta.concrete_fields)
    lines = []
    for obj in objs:
        values = []
        for field in fields:
            value = field.pre_save(obj, add=True)
            if type(value) not in PLAIN:
                value = field.get_db_prep_save(value, connection)
            values.append(copy_text(value))
        lines.append("\t".join(values))
        obj._state.adding = False
        obj._state.db = connection.alias
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            copy.write("\n".join(lines) + "\n")
    return objs


def copy_history(model, objs: list, *, update: bool = False) -> list:
    """simple-history's bulk_history_create for `objs` of `model`, written with COPY:
    the same rows (type, user from the request, date, tracked fields)."""
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return []
    from simple_history.utils import get_change_reason_from_object

    history = model.history.model
    now = timezone.now()
    rows = []
    for instance in objs:
        row = history(
            history_date=getattr(instance, "_history_date", now),
            history_user=getattr(instance, "_history_user", history.get_default_history_user(instance)),
            history_change_reason=get_change_reason_from_object(instance) or "",
            history_type="~" if update else "+",
            **{field.attname: getattr(instance, field.attname) for field in history.tracked_fields},
        )
        if hasattr(history, "history_relation"):
            row.history_relation_id = instance.pk
        rows.append(row)
    return copy_insert(history, rows)
