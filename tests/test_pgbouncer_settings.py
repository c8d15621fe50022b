"""DATABASE_PGBOUNCER=1 (README "Several nodes"): behind PgBouncer in transaction
mode nothing may outlive a transaction on a server connection. The settings are
read in a fresh interpreter, as a node would start with that environment; CI
serves the demo through a real PgBouncer (.ci/pgbouncer)."""

import json
import os
import subprocess
import sys

import pytest

READ = (
    "import django, json; django.setup(); from django.conf import settings; "
    "d = settings.DATABASES['default']; "
    "print(json.dumps([d.get('DISABLE_SERVER_SIDE_CURSORS', False), "
    "d.get('OPTIONS', {})]))"
)


def database_settings(**env) -> tuple[bool, dict]:
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pacnam.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:6432/pacnam",
        **env,
    }
    environ.pop("DATABASE_REPLICA_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", READ], env=environ, capture_output=True, text=True, check=True
    )
    cursors, options = json.loads(out.stdout.strip().splitlines()[-1])
    return cursors, options


@pytest.mark.parametrize("flag", ["1", ""])
def test_behind_pgbouncer_nothing_outlives_a_transaction(flag):
    cursors, options = database_settings(DATABASE_PGBOUNCER=flag)
    if flag:
        # No server-side cursors, no prepared statements, no startup options.
        assert cursors is True
        assert "prepare_threshold" in options and options["prepare_threshold"] is None
        assert "options" not in options
    else:
        assert cursors is False and "prepare_threshold" not in options
        assert "jit=off" in options["options"]
