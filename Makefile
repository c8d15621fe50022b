# The two commands: `make run` and `make test`. Everything else is a helper.
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install install-dev messages migrate lint typecheck browser-setup screenshots bench clean

$(VENV)/.installed: requirements.lock
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

$(VENV)/.installed-dev: requirements-dev.lock requirements.lock $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	@touch $@

install: $(VENV)/.installed messages
install-dev: $(VENV)/.installed-dev messages

messages: $(VENV)/.installed
	@$(PY) scripts/compile_messages.py

# Serves the demo district on http://127.0.0.1:$(PORT) (SQLite unless DATABASE_URL is set),
# with the job runner's worker beside runserver for background imports; both stop together.
run: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --no-input
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo --if-empty
	@echo ""
	@echo "Demo logins (password 'demo'): admin (administrator), district (district officer until 2025),"
	@echo "thainguyen (province officer from 2025), caotan and giaohieu (commune secretaries until 2025),"
	@echo "caominh (commune secretary of Cao Minh from 2025), khauslom (branch secretary of Khâu Slôm)."
	@echo "Open http://127.0.0.1:$(PORT)/"
	@echo ""
	DEBUG=$${DEBUG:-1} scripts/run-with-worker $(PY) $(PORT)

# The whole suite, on SQLite by default or on PostgreSQL when DATABASE_URL=postgres://... is set.
test: install-dev
	@$(PY) scripts/browser_status.py
	$(PY) -m pytest --durations=20 $(PYTEST_ARGS)

lint: typecheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

# mypy with django-stubs ([tool.mypy] in pyproject.toml), part of `lint` and of CI. The
# plugin loads the settings, which need the tests' throwaway keys.
typecheck: install-dev
	SECRET_KEY=typecheck-only-not-a-secret AUDIT_KEY=typecheck-only-audit-key-not-a-secret-01234 \
	DEBUG=1 $(VENV)/bin/mypy

# Chromium and Playwright's Python client for the browser tests, and LibreOffice (Writer,
# headless) with poppler's pdfinfo for the report upward's .odt and its PDF test (Debian; needs root).
browser-setup: install-dev
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	command -v soffice >/dev/null && command -v pdfinfo >/dev/null || (apt-get update -qq && \
	  apt-get install -y -qq --no-install-recommends libreoffice-writer-nogui poppler-utils fonts-dejavu-core)

screenshots: install-dev
	$(PY) -m pytest tests/browser -k screenshots --screenshots

# The benchmark of docs/benchmarks.md on the configured database (meant for PostgreSQL:
# DATABASE_URL=postgres://...). BENCH_SMALL and BENCH_MEMBERS set the two sizes (default
# 200000 and 1000000); BENCH_ARGS=--quick is a smoke run of a minute, BENCH_ARGS="--national
# 5500000" adds the national party's size. Run with DEBUG off, as in production.
BENCH_SMALL ?= 200000
BENCH_MEMBERS ?= 1000000
bench: install-dev
	@$(PY) scripts/compile_messages.py
	BENCH_SMALL=$(BENCH_SMALL) BENCH_MEMBERS=$(BENCH_MEMBERS) DEBUG=0 STATIC_MANIFEST=0 SECURE_COOKIES=0 \
	SECRET_KEY=$${SECRET_KEY:-bench-only-not-a-secret} AUDIT_KEY=$${AUDIT_KEY:-bench-only-audit-key-not-a-secret-0123456789} \
	$(PY) manage.py bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles
