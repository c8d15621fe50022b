"""Bulk inserts with COPY on PostgreSQL.

Django's bulk_create spends most of its time in Python preparing each value of
each row; COPY takes the rows as psycopg formats them in C. Used by the import (through
members.services.members.member_create_many) and the synthetic data. Ids are taken
from the table's sequence first, so the objects have their pk afterwards, as
after bulk_create, and rows can point at each other.
"""

import datetime
import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

# Values psycopg writes as they are (get_db_prep_save is the identity for them
# on PostgreSQL, and costs a call per value).
PLAIN = {str, int, bool, type(None), datetime.date, datetime.datetime}


def copy_text(value) -> str:
    """A value in COPY's text format (the synthetic data writes whole lines)."""
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
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _next_ids(model, n: int) -> list[int]:
    """`n` ids from the table's sequence, as an insert would take them."""
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, n],
        )
        return [pk for (pk,) in cursor.fetchall()]


def _copy(model, fields: list, rows: Sequence[Sequence[Any]]) -> None:
    """COPY `rows` (tuples of Python values in the order of `fields`) into the table.
    psycopg formats each row in C (write_row), a fraction of the time of turning
    every value into COPY's text in Python."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def copy_insert(model, objs: list) -> list:
    """Insert `objs` (unsaved instances of `model`) with one COPY; PostgreSQL only.

    Runs each field's pre_save (auto_now and the like) and get_db_prep_save, as
    bulk_create does; no save() and no signals, as with bulk_create."""
    if not objs:
        return objs
    missing = [obj for obj in objs if obj.pk is None]
    for obj, pk in zip(missing, _next_ids(model, len(missing)) if missing else [], strict=True):
        obj.pk = pk
    fields = list(model._meta.concrete_fields)
    rows = []
    for obj in objs:
        values = []
        for field in fields:
            value = field.pre_save(obj, add=True)
            if type(value) not in PLAIN:
                value = field.get_db_prep_save(value, connection)
            values.append(value)
        rows.append(values)
        obj._state.adding = False
        obj._state.db = connection.alias
    _copy(model, fields, rows)
    return objs


def copy_insert_values(model, rows: list[dict]) -> None:
    """Insert `rows`, each a dict of attname -> value, with one COPY; PostgreSQL only.
    A field a row leaves out takes its default, and the database numbers the rows
    itself (nobody reads their ids back). No model instance is built: for rows
    such as history, building them was a quarter of an import's time."""
    if not rows:
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    defaults = {f.attname: f.get_default() for f in fields}
    values = []
    for row in rows:
        line = []
        for field in fields:
            value = row[field.attname] if field.attname in row else defaults[field.attname]
            if type(value) not in PLAIN:
                value = field.get_db_prep_save(value, connection)
            line.append(value)
        values.append(line)
    _copy(model, fields, values)


def copy_history(model, objs: list, *, update: bool = False) -> None:
    """simple-history's bulk_history_create for `objs` of `model`, written with COPY:
    the same rows (type, user from the request, date, tracked fields)."""
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    from simple_history.utils import get_change_reason_from_object

    history = model.history.model
    now = timezone.now()
    tracked = [field.attname for field in history.tracked_fields]
    relation = hasattr(history, "history_relation")
    rows = []
    for instance in objs:
        user = getattr(instance, "_history_user", history.get_default_history_user(instance))
        row = {name: getattr(instance, name) for name in tracked}
        row.update(
            history_date=getattr(instance, "_history_date", now),
            history_user_id=user.pk if user is not None else None,
            history_change_reason=get_change_reason_from_object(instance) or "",
            history_type="~" if update else "+",
        )
        if relation:
            row["history_relation_id"] = instance.pk
        rows.append(row)
    copy_insert_values(history, rows)
