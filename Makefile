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

.PHONY: help demo seed test lint typecheck install-demo install-test clean distclean

help:
	@echo "make demo       run Forewarn with demo data at http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	@echo "make test       install the test dependencies, run ruff and the whole test suite"
	@echo "make seed       (re)load the demo data only"
	@echo "make typecheck  run mypy"
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

install-demo: $(VENV)/.installed-demo
install-test: $(VENV)/.installed-test

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
