"""Forms that save several rows at once (the roll, a dues column): only the rows
the user changed are written, and nothing is written when one of those rows was
changed by someone else since the form was opened.

The form carries, per row, a stamp of the values it showed (`row_stamp`, in a
hidden `stamp-<key>` field). On save, with the rows locked, `rows_to_write`
compares three things per row: what the form showed (the stamp), what the user
sent, and what the row holds now:
- sent == shown: the user did not touch the row; it is not written (so a
  second editor's marks on it stay);
- now == shown: nobody else changed it; the user's value is written;
- now == sent: both made the same change; nothing to write;
- otherwise: a conflict. `RowsChanged` lists every conflicting row with the
  other person's value, and the caller's transaction writes nothing.

A stamp of the values, not a counter, needs no column: a row changed and changed
back is not a conflict, and writing over it loses nothing.
"""

import hashlib
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from pacnam.lib.errors import DomainError

STAMP_PREFIX = "stamp-"


def row_stamp(values: tuple) -> str:
    """A short fingerprint of a row's editable values as a form shows them."""
    return hashlib.blake2s(repr(tuple(values)).encode(), digest_size=8).hexdigest()


def read_stamps(data: Mapping, keys: Iterable[Hashable], prefix: str = STAMP_PREFIX) -> dict:
    """The stamps a submitted form carries: {key: stamp}, for the keys it has
    (`prefix` tells apart two sets of rows in one form: the roll's marks and dues)."""
    stamps = {}
    for key in keys:
        stamp = data.get(f"{prefix}{key}")
        if stamp:
            stamps[key] = stamp
    return stamps


@dataclass(frozen=True)
class RowConflict:
    key: Hashable
    current: tuple  # what the other person saved
    wanted: tuple  # what this user sent


class RowsChanged(DomainError):
    def __init__(self, conflicts: list[RowConflict]):
        super().__init__(
            _(
                "Someone else changed %(count)d of the rows you changed after you opened "
                "the form. Nothing was saved: their values are shown below, your other "
                "changes are kept in the form; check them and save again."
            )
            % {"count": len(conflicts)}
        )
        self.conflicts = conflicts


def rows_to_write[Row](
    *,
    rows: Mapping[Any, Row],
    values: Callable[[Row], tuple],
    wanted: Mapping,
    opened: Mapping | None,
) -> list:
    """The keys of the rows to write; raises RowsChanged if any row the user
    changed was changed by someone else since the form was opened.

    `rows` are the current rows by key, read WITH A ROW LOCK
    (select_for_update) in the transaction that then writes them: otherwise two
    editors saving at the same moment both pass the check and the second
    overwrites the first. `wanted` maps a key to the values the user sent,
    `opened` to the stamps the form was opened with. A row without a stamp
    (a script, no form) is written whenever it differs.
    """
    to_write, conflicts = [], []
    for key, new in wanted.items():
        new = tuple(new)
        current = tuple(values(rows[key]))
        stamp = (opened or {}).get(key)
        if current == new:
            continue
        if stamp is None:
            to_write.append(key)
        elif row_stamp(new) == stamp:
            continue  # the user left this row as it was shown
        elif row_stamp(current) == stamp:
            to_write.append(key)
        else:
            conflicts.append(RowConflict(key, current, new))
    if conflicts:
        raise RowsChanged(conflicts)
    return to_write
