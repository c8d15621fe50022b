"""The trail's head, anchored outside the database without anyone remembering.

The chain proves that no entry was changed, but not that none was cut off the end:
whoever owns the database can delete the last entries and move the head back, and
the shorter chain is as intact as the longer one was. A head noted off the machine
(`audit_verify --head`) catches it, if someone noted one. So the registry notes it
itself: with AUDIT_ANCHOR_FILE set (a file on another disk or a mounted share,
writable by the registry, ideally append-only for it: `chattr +a`), every
AUDIT_ANCHOR_EVERY-th entry and the first entry of each day append one line

    SEQ HASH ISO-TIME

and `audit_verify` checks that entry SEQ of the latest line still carries HASH.

A line is written only after the entry's transaction commits (an entry rolled back
must not be anchored, or every later verify would fail) and is flushed to the disk
before the request goes on. A failed write is logged and does not refuse the
change: the anchor is a witness, not a lock, and the next due entry writes again.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

LINE = re.compile(r"^(\d+) ([0-9a-f]{64}) (\S+)$")
# The last lines are all a verify needs: reading the tail keeps it fast however
# many years of anchors the file holds.
TAIL_BYTES = 16 * 1024


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    at: datetime.datetime

    def line(self) -> str:
        return f"{self.seq} {self.hash} {self.at.isoformat()}\n"


def anchor_path() -> Path | None:
    path = getattr(settings, "AUDIT_ANCHOR_FILE", "")
    return Path(path) if path else None


def _parse(line: str) -> Anchor | None:
    match = LINE.match(line.strip())
    if match is None:
        return None
    try:
        at = datetime.datetime.fromisoformat(match.group(3))
    except ValueError:
        return None
    return Anchor(int(match.group(1)), match.group(2), at)


def latest_anchor(path: Path | None = None) -> Anchor | None:
    """The last well-formed line of the anchor file (a line cut short by a crash
    while it was written is passed over), or None when there is none."""
    path = path or anchor_path()
    if path is None:
        return None
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - TAIL_BYTES))
            tail = file.read().decode("ascii", errors="replace")
    except FileNotFoundError:
        return None
    for line in reversed(tail.splitlines()):
        anchor = _parse(line)
        if anchor is not None:
            return anchor
    return None


def write_anchor(anchor: Anchor, path: Path) -> None:
    """Append the line and flush it to the disk. Created readable by the registry's
    user only: the seals are not secret, but nobody else has a reason to read them."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, anchor.line().encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def anchor_due(seq: int, at: datetime.datetime, previous: Anchor | None) -> bool:
    """Every AUDIT_ANCHOR_EVERY-th entry, and the first one of a day that has no
    anchor yet (a quiet registry is anchored daily, a busy one every N entries)."""
    every = max(1, int(getattr(settings, "AUDIT_ANCHOR_EVERY", 100)))
    if seq % every == 0 or previous is None:
        return True
    return timezone.localdate(at) > timezone.localdate(previous.at)


def anchor_after_commit(seq: int, seal: str, at: datetime.datetime) -> None:
    """Called by the trail for each entry it appends, inside its transaction."""
    path = anchor_path()
    if path is None:
        return
    try:
        due = anchor_due(seq, at, latest_anchor(path))
    except OSError:
        logger.exception("audit anchor: %s could not be read", path)
        due = True
    if not due:
        return

    def write() -> None:
        try:
            write_anchor(Anchor(seq, seal, at), path)
        except OSError:
            logger.exception("audit anchor: entry #%s could not be written to %s", seq, path)

    transaction.on_commit(write)
