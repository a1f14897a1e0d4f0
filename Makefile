# The developer interface. `make run` and `make test` set everything up on a bare machine
# with Python 3.11 and Node.js/npm; re-runs skip the installs unless requirements changed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT
# Installs are stamped with a hash of what they installed: changed requirements reinstall.
hash = $(shell cat $(1) | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-16)
RUNTIME_STAMP := $(VENV)/.runtime-$(call hash,requirements.txt)
DEV_STAMP := $(VENV)/.dev-$(call hash,requirements.txt requirements-dev.txt)
ASSETS_STAMP := node_modules/.installed-$(call hash,package.json package-lock.json)
# The suite runs in parallel (pytest-xdist), one worker per core by default; each worker
# has its own test database (test_casebook_gw0, ...) and Redis database (settings/test.py).
# The tests that start real processes (marker `integration`) spend most of their time
# waiting on them (a beat interval, a worker's start), so `make test` runs them in one
# pytest more beside the workers, in the lane numbered after theirs.
TEST_WORKERS ?= $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

.PHONY: run test test-fast lint audit mypy format migrate seed bench check-deploy clean venv venv-dev assets chromium pango messages translations gettext

run: venv assets pango translations migrate seed
	bin/run

test: venv-dev assets chromium pango gettext translations
	@status=0; mkdir -p var; \
	CASEBOOK_TEST_LANE=$$(( $(TEST_WORKERS) > 0 ? $(TEST_WORKERS) : 1 )) $(VENV)/bin/pytest \
		-m integration -p no:cacheprovider >var/test-integration.log 2>&1 & waiting=$$!; \
	echo "== ruff check"; $(VENV)/bin/ruff check . || status=1; \
	echo "== ruff format --check"; $(VENV)/bin/ruff format --check . || status=1; \
	echo "== complexity"; $(PY) bin/check-complexity || status=1; \
	echo "== mypy"; $(VENV)/bin/mypy . || status=1; \
	echo "== bandit"; $(VENV)/bin/bandit -q -c pyproject.toml -r . || status=1; \
	echo "== known vulnerabilities in the pinned packages"; $(PY) bin/audit-dependencies || status=1; \
	echo "== translations: every marked text has a Spanish entry, none fuzzy"; \
	$(PY) bin/messages check || status=1; \
	echo "== makemigrations --check"; \
	DJANGO_SETTINGS_MODULE=casebook.settings.test $(PY) manage.py makemigrations --check --dry-run || status=1; \
	echo "== pytest, $(TEST_WORKERS) workers (the tests marked integration run beside them)"; \
	$(VENV)/bin/pytest -n $(TEST_WORKERS) -m "not integration" || status=1; \
	wait $$waiting || status=1; \
	echo "== pytest -m integration: the tests that start real processes"; \
	cat var/test-integration.log; \
	echo "== the demo walkthrough again on SQLite, the embedded default"; \
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-embedded.sqlite3 $(VENV)/bin/pytest -q \
		-p no:cacheprovider -n $(TEST_WORKERS) tests/test_demo_walkthrough.py || status=1; \
	if [ $$status -ne 0 ]; then echo "make test: FAILED (see above)"; fi; \
	exit $$status

# While developing: the suite less the browser, the real processes and the slow tests,
# on the test databases of the last run (migrations added since are applied; after
# editing or removing one, pass PYTEST_ADDOPTS=--create-db). `make test` before a commit.
test-fast: venv-dev translations
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --reuse-db -m "not browser and not integration and not slow"

# ruff (lint and format), the complexity bound (bin/check-complexity: 15), mypy and bandit.
lint: venv-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) bin/check-complexity
	$(MAKE) --no-print-directory mypy
	$(VENV)/bin/bandit -q -c pyproject.toml -r .

# Known vulnerabilities in the pinned Python and npm packages (pip-audit, npm audit); what
# the advisory services could not be asked about is reported as not checked.
audit: venv-dev assets
	$(PY) bin/audit-dependencies

mypy: venv-dev
	$(VENV)/bin/mypy .

format: venv-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Speed against a raw-SQL baseline on PostgreSQL (BENCH_DATABASE_URL); run on demand.
bench: venv-dev assets
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-bench.txt
	$(PY) bench/caseload.py
	$(PY) bench/referrals.py
	$(PY) bench/followups.py
	$(PY) bench/dispatch.py
	$(PY) bench/surge.py
	$(PY) bench/scale.py
	$(PY) bench/load.py

# With MIGRATION_DATABASE_URL (PostgreSQL) the migrations run as the owner of the tables,
# the application (DATABASE_URL) as a role that owns nothing (README, "Database roles").
migrate: venv
	@if [ -n "$${MIGRATION_DATABASE_URL:-}" ]; then \
		echo "$(PY) manage.py migrate --no-input  (as MIGRATION_DATABASE_URL)"; \
		DATABASE_URL="$$MIGRATION_DATABASE_URL" $(PY) manage.py migrate --no-input; \
	else \
		echo "$(PY) manage.py migrate --no-input"; $(PY) manage.py migrate --no-input; \
	fi

seed: venv
	$(PY) manage.py seed_demo

# Production settings with throwaway values: what `check --deploy` says about the code.
check-deploy: venv
	DJANGO_SETTINGS_MODULE=casebook.settings.prod \
	SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))') \
	ALLOWED_HOSTS=casebook.example.org \
	DATABASE_URL=postgres://casebook@127.0.0.1:5432/casebook \
	REDIS_URL=redis://127.0.0.1:6379/0 \
	$(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) node_modules var staticfiles .pytest_cache .ruff_cache .mypy_cache test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# --- set-up steps (stamp files: redone only when their inputs change) --------------------

venv: $(RUNTIME_STAMP)
venv-dev: $(DEV_STAMP)
assets: $(ASSETS_STAMP)

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 or python3 on PATH)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed; $(PYTHON) is older"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	rm -f $(VENV)/.runtime-*
	touch $@

$(DEV_STAMP): | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	rm -f $(VENV)/.runtime-* $(VENV)/.dev-*
	touch $@ $(RUNTIME_STAMP)

$(ASSETS_STAMP):
	@command -v npm >/dev/null || { echo "npm is needed for the front-end packages (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

# The browser test drives Debian's Chromium.
# The texts in Spanish (README: "Translating"). `translations` compiles the catalogues
# (run and test do it first); `messages` gathers new texts into them, to translate.
translations: venv
	$(PY) bin/compile-messages

messages: venv gettext
	$(PY) bin/messages update
	$(PY) bin/compile-messages

# GNU gettext: gathering texts (makemessages) and the catalogues' check in `make test`.
gettext:
	@if command -v msgfmt >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing GNU gettext for the translation catalogues"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y gettext >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y gettext; }; \
	else \
		echo "The translation check needs GNU gettext: run 'sudo apt-get install gettext'"; exit 1; \
	fi

# The safety plan's PDF (WeasyPrint) lays text out with Pango and a font from fontconfig.
# Without them the app runs and says the PDF is unavailable (the print view still works).
pango:
	@if ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0.so.0 && fc-list 2>/dev/null | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing Pango and a font for the safety plan's PDF"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; }; \
	else \
		echo "The safety plan's PDF needs Pango: run 'sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core'"; \
	fi

chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium for the browser test"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }; \
	else \
		echo "The browser test needs /usr/bin/chromium: run 'sudo apt-get install chromium'"; exit 1; \
	fi
