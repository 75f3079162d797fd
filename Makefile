# Safqa: two commands on a fresh machine.
#   make run   - install everything into .venv and node_modules, migrate, seed the demo once, serve :8000
#   make test  - the whole test suite (unit, integration, browser)
# Other targets: make check (lint, migrations, Arabic catalog), make messages, make worker, make beat.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test check lint messages compilemessages install worker beat clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json scripts/vendor.mjs
	npm ci --no-audit --no-fund
	npm run vendor
	touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP) compilemessages

# Babel compiles the catalog, so running Safqa needs no system gettext tools.
compilemessages: $(STAMP)
	$(VENV)/bin/pybabel -q compile -d locale -D django

# Beside the server, a Celery worker with beat embedded delivers reminders and runs the
# digest and nightly jobs on schedule (without REDIS_URL its tasks run in-process);
# it is stopped when the server stops.
run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(VENV)/bin/celery -A config worker --beat --pool=solo --loglevel=info --schedule var/celerybeat-schedule & \
	worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# The Arabic catalog must cover every string in the code: refresh it, then fail on
# anything untranslated or fuzzy (the header entry excepted).
messages: $(STAMP)
	$(PY) manage.py makemessages -l ar --no-location --no-obsolete --ignore=$(VENV) --ignore=node_modules --ignore=tests --ignore=staticfiles --ignore=var -v0

check: lint messages
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) scripts/check_catalog.py locale/ar/LC_MESSAGES/django.po

worker: install
	$(VENV)/bin/celery -A config worker --loglevel=info

beat: install
	$(VENV)/bin/celery -A config beat --loglevel=info

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles
