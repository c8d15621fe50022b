"""Skips that say why, and CI's refusal of a skip nobody agreed to.

Loaded before the tests (`-p tests.skips` in pyproject's addopts):

- A test marked `postgres` needs real concurrent connections. On SQLite its
  threads would run one after the other and "pass" without any race, so there
  it is skipped, visibly (`-rs` prints the reason), instead of passing.
- `--fail-on-unknown-skip` (CI) turns the run into a failure when a test was
  skipped for a reason that `tests/allowed_skips.txt` does not allow on this
  database: a new skip is a decision to take on purpose, not by accident.
"""

import functools
from pathlib import Path

import pytest

ALLOWED_SKIPS = Path(__file__).with_name("allowed_skips.txt")
POSTGRES_ONLY = "needs PostgreSQL: real concurrent connections"


def pytest_addoption(parser):
    parser.addoption(
        "--fail-on-unknown-skip",
        action="store_true",
        help=f"fail the run if a test is skipped for a reason not allowed in {ALLOWED_SKIPS.name}",
    )


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


def pytest_collection_modifyitems(config, items):
    if _vendor() == "postgresql":
        return
    skip = pytest.mark.skip(reason=POSTGRES_ONLY)
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


def allowed_reasons(vendor: str) -> set[str]:
    """The reasons allowed on `vendor`: lines of "DATABASE REASON", DATABASE being
    sqlite, postgresql or * (any); blank lines and # comments are ignored."""
    allowed = set()
    for line in ALLOWED_SKIPS.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        database, reason = line.split(None, 1)
        if database in ("*", vendor):
            allowed.add(reason.strip())
    return allowed


class UnknownSkips:
    def __init__(self):
        self.unknown: list[tuple[str, str]] = []

    @functools.cached_property
    def vendor(self) -> str:
        return _vendor()

    @functools.cached_property
    def allowed(self) -> set[str]:
        return allowed_reasons(self.vendor)

    def pytest_runtest_logreport(self, report):
        if not report.skipped or hasattr(report, "wasxfail"):
            return
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if reason not in self.allowed:
            self.unknown.append((report.nodeid, reason))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session):
        if self.unknown and session.exitstatus in (0, 5):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        if not self.unknown:
            return
        terminalreporter.section("skips not allowed", sep="=", red=True, bold=True)
        for nodeid, reason in self.unknown:
            terminalreporter.line(f"{nodeid}: {reason}")
        terminalreporter.line(
            f"{len(self.unknown)} test(s) skipped for a reason {ALLOWED_SKIPS.name} does not allow "
            f"on {self.vendor}: run them, or add the reason there on purpose."
        )


def pytest_configure(config):
    if config.getoption("--fail-on-unknown-skip"):
        config.pluginmanager.register(UnknownSkips(), "unknown-skips")
