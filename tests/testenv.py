"""Loaded by pytest before Django (see addopts in pyproject.toml).

Tests run with DEBUG off, as production does; they need a SECRET_KEY, which
the settings rightly refuse to invent. A throwaway one is set here.
The Vietnamese catalogues are compiled here too, so that plain `pytest`
works without `make`: a stale or missing .mo would otherwise fail the
translation tests with English text.
"""

import os
import pathlib
import runpy

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("AUDIT_KEY", "tests-only-audit-key-not-a-secret-0123456789")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("WHITENOISE_USE_FINDERS", "1")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
# Off here so that the page tests can sign in with force_login; the second
# factor's own tests (tests/test_second_factor.py, the browser test) turn it on.
os.environ.setdefault("OTP_REQUIRED", "0")
# Background tasks run at once, inside the request that enqueues them; the tests that
# need the real queue (a table and `db_worker`) switch to it themselves.
os.environ.setdefault("TASKS_BACKEND", "django.tasks.backends.immediate.ImmediateBackend")
# With DATABASE_REPLICA_URL set (CI's PostgreSQL step), reads still go to the primary:
# the tests run inside transactions that a replica (or the mirror alias, another
# connection) cannot see. tests/test_replica.py turns replica reads on where it means to.
os.environ.setdefault("REPLICA_READS", "0")

# The same code as `make messages`; it only recompiles catalogues older than their .po.
runpy.run_path(
    str(pathlib.Path(__file__).resolve().parent.parent / "scripts" / "compile_messages.py"),
    run_name="compile_messages",
)["main"]()
