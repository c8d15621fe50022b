"""The benchmark of issue 7: each page's queries and server time at two sizes,
against the best single hand-written SQL query for the same rows (the floor).

`manage.py bench` (and `make bench`) drives it: for each size it creates a
fresh database beside the configured one, migrates it, fills it with
`devtools.synthetic`, measures, and drops it. The functions here measure
whatever database Django is connected to, so the tests can run them on the
test database at a tiny size.

    pages.py    what is measured, for whom, and each page's floor
    measure.py  how: timings, query counts, plans, the other measurements
    report.py   one size's run, the machine, the written report, the databases
"""

from .measure import measure_dissolution, measure_export_import
from .report import (
    combine,
    create_database,
    database_name,
    drop_database,
    explains,
    machine,
    markdown,
    run_size,
    use_database,
    write,
)

__all__ = [
    "combine",
    "create_database",
    "database_name",
    "drop_database",
    "explains",
    "machine",
    "markdown",
    "measure_dissolution",
    "measure_export_import",
    "run_size",
    "use_database",
    "write",
]
