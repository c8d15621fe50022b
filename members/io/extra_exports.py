"""Export kinds that apps above members add to `registry_export` (the dues of
meetings): the command lives here, the floor below, so an app registers its
kind in its AppConfig.ready() rather than the command importing upward.

A kind's function takes (year, commune) and yields rows, the header first.
"""

from collections.abc import Callable, Iterator

EXTRA_EXPORTS: dict[str, Callable[..., Iterator[list]]] = {}
# Kinds whose rows are about people: the export is recorded in the read log.
PERSONAL_EXTRA_KINDS: set[str] = set()


def register_export(kind: str, rows: Callable[..., Iterator[list]], *, personal: bool) -> None:
    EXTRA_EXPORTS[kind] = rows
    if personal:
        PERSONAL_EXTRA_KINDS.add(kind)
