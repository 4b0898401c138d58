# Forewarn. Two commands matter (see README.md):
#   make demo   set up .venv, migrate, load demo data, run web + worker + scheduler + mail sink
#   make test   install the test dependencies and run the whole suite and the linters
#
# Variables: PYTHON (a Python >= 3.12 to build .venv with), PORT (web, default 8000),
# SMTP_PORT (the demo's mail sink, default 1025), PYTEST_ARGS (e.g. PYTEST_ARGS="-m 'not e2e'").

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
VENV_PY := $(VENV)/bin/python
PORT ?= 8000
SMTP_PORT ?= 1025
PYTEST_ARGS ?=
HOST := 127.0.0.1

# The demo always runs on the embedded default (SQLite and kombu's filesystem broker under var/),
# even if the shell has DATABASE_URL/REDIS_URL for something else; docker-compose.yml is the way
# to run on PostgreSQL and Redis. Mail goes to the loopback sink that the demo starts.
DEMO_ENV := env -u DATABASE_URL -u REDIS_URL \
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
	DJANGO_SETTINGS_MODULE=config.settings.local \
	EMAIL_URL=smtp://$(HOST):$(SMTP_PORT) \
	SITE_URL=http://$(HOST):$(PORT) \
	PYTHONUNBUFFERED=1 \
	DEMO_WEB_PORT=$(PORT) DEMO_SMTP_PORT=$(SMTP_PORT)

# Tests get their own var/ so they never share a filesystem broker with a running demo.
TEST_ENV := env DJANGO_SETTINGS_MODULE=config.settings.test \
	FOREWARN_VAR_DIR="$(or $(FOREWARN_VAR_DIR),$(CURDIR)/var/test)"

.PHONY: help demo seed test lint typecheck install-demo install-test lock audit clean distclean

help:
	@echo "make demo       run Forewarn with demo data at http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	@echo "make test       install the test dependencies, run ruff and the whole test suite"
	@echo "make seed       (re)load the demo data only"
	@echo "make typecheck  run mypy"
	@echo "make audit      pip-audit the locked dependencies (requirements.lock)"
	@echo "make lock       refresh requirements.lock from pyproject.toml (UPGRADE=1: newest)"
	@echo "make clean      delete the demo database, broker files and collected static files"
	@echo "make distclean  clean, and delete $(VENV)"

# --- The virtualenv. Built with the first Python >= 3.12 found; reinstalled only when
# pyproject.toml changes (the stamp files record the last install of each extra).

define find_python
for candidate in $(PYTHON) python3.13 python3.12 python3 \
	$$(ls -d "$${PYENV_ROOT:-$$(pyenv root 2>/dev/null || echo "$$HOME/.pyenv")}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -r); do \
	if "$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
		command -v "$$candidate"; exit 0; \
	fi; \
	if [ -n "$(PYTHON)" ] && [ "$$candidate" = "$(PYTHON)" ]; then \
		echo "warning: PYTHON=$(PYTHON) is not a working Python >= 3.12; looking further" >&2; \
	fi; \
done; exit 1
endef

$(VENV_PY):
	@python="$$($(find_python))" || { \
		echo "error: Forewarn needs Python 3.12 or newer (Django 6.1), and none was found." >&2; \
		echo "  Tried: $(strip $(PYTHON) python3.13 python3.12 python3) and pyenv's versions/3.1[2-9]*." >&2; \
		echo "  Install one, or point to it: make $(MAKECMDGOALS) PYTHON=/path/to/python3.12" >&2; \
		exit 1; }; \
	echo "Creating $(VENV) with $$python ($$("$$python" --version))"; \
	"$$python" -m venv $(VENV)

$(VENV)/.installed-%: pyproject.toml | $(VENV_PY)
	@$(VENV_PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || { \
		echo "error: $(VENV) was made with $$($(VENV_PY) --version); Forewarn needs 3.12+." >&2; \
		echo "  Remove it (make distclean) and run make again." >&2; exit 1; }
	@echo "Installing Forewarn with the '$*' extra into $(VENV) ..."
	$(VENV_PY) -m pip install --quiet -e ".[$*]"
	@touch $@

# The test environment comes from requirements.lock: exact versions, every file checked against
# its hash (pip --require-hashes), Forewarn itself on top. `make lock` refreshes the lock.
$(VENV)/.installed-test: pyproject.toml requirements.lock | $(VENV_PY)
	@$(VENV_PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || { \
		echo "error: $(VENV) was made with $$($(VENV_PY) --version); Forewarn needs 3.12+." >&2; \
		echo "  Remove it (make distclean) and run make again." >&2; exit 1; }
	@echo "Installing the locked test dependencies (requirements.lock) into $(VENV) ..."
	$(VENV_PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(VENV_PY) -m pip install --quiet --no-deps -e .
	@touch $@

install-demo: $(VENV)/.installed-demo
install-test: $(VENV)/.installed-test

# requirements.lock: every package of the demo and test extras, pinned, with the hashes of its
# files. Keeps the pins it has where pyproject.toml still allows them; UPGRADE=1 takes the newest.
lock: | $(VENV_PY)
	@test -x $(VENV)/bin/pip-compile || $(VENV_PY) -m pip install --quiet "pip-tools>=7.4,<8"
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes \
		--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		$(if $(UPGRADE),--upgrade) --extra demo --extra test \
		--output-file requirements.lock pyproject.toml
	@# The test extra names forewarn[demo]: drop the checkout itself, which pip installs after.
	$(VENV_PY) -c "import pathlib, re; p = pathlib.Path('requirements.lock'); \
		p.write_text(re.sub(r'# WARNING: pip install will require.*?\nforewarn @ [^\n]*\n(    # via[^\n]*\n)?', '', p.read_text(), flags=re.S))"

# pip-audit over requirements.lock (.ci/audit: skipped, saying why, when no vulnerability
# service is reachable from this machine).
audit: $(VENV)/.installed-test
	.ci/audit

# --- README command 1.

seed: $(VENV)/.installed-demo
	$(DEMO_ENV) python manage.py migrate --noinput
	$(DEMO_ENV) python manage.py seed_demo

demo: seed
	@echo
	@echo "Forewarn is starting: http://$(HOST):$(PORT)/"
	@echo "  API docs:  http://$(HOST):$(PORT)/api/docs/   (schema: /api/schema/)"
	@echo "  Advisories http://$(HOST):$(PORT)/advisories/   Admin: http://$(HOST):$(PORT)/admin/"
	@echo "  Mail:      sent to the sink on $(HOST):$(SMTP_PORT); the 'smtp' lines below show it."
	@echo "  Log in with any demo login above. Press Ctrl-C to stop everything."
	@echo
	@# --env /dev/null: honcho must not read a .env meant for docker compose.
	$(DEMO_ENV) honcho start --procfile Procfile.dev --env /dev/null

# --- README command 2.

test: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	.ci/audit
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(TEST_ENV) $(VENV)/bin/mypy .

clean:
	rm -rf var/ staticfiles/ .test-db.sqlite3*

distclean: clean
	rm -rf $(VENV)
