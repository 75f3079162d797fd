# Safqa: two commands on a fresh machine.
#   make run   - install everything into .venv and node_modules, migrate, seed the demo once, serve :8000
#   make test  - the whole test suite (unit, integration, browser)
# Other targets: make check (ruff, ruff format, ESLint, migrations, Arabic catalog), make messages, make worker, make beat,
#   make bench SCALE=S (the benchmark suite, see BENCHMARKS.md).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The benchmark's own PostgreSQL database (created when missing) and Redis database, apart from
# the development ones: it seeds S × 100,000 contacts and runs a Celery worker on that Redis.
SCALE ?= 1
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/safqa_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test check lint messages compilemessages install worker beat clean bench

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

# Beside the server, one Celery worker with beat embedded consumes both queues ("realtime":
# reminders, digests, webhooks; "batch": imports, rollups, exports, training) and runs the
# digest and nightly jobs on schedule (without REDIS_URL its tasks run in-process);
# it is stopped when the server stops.
run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(VENV)/bin/celery -A config worker -Q realtime,batch --beat --pool=solo --loglevel=info --schedule var/celerybeat-schedule & \
	worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# The suite on PYTEST_WORKERS processes (pytest-xdist; 0 runs it in this one): each worker has its
# own test database and Redis database (tests/services.py), and tests marked xdist_group share one.
PYTEST_WORKERS ?= 2
test: install
	$(PY) -m pytest -n $(PYTEST_WORKERS)

# Seeds at scale SCALE, serves with gunicorn (DEBUG=0, 2 workers), drives 16 clients, times the
# hand-written SQL floor; prints the table and writes bench/results/<date>-<scale>.json.
bench: install
	SAFQA_BENCH=1 DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(PY) -m bench.run --scale $(SCALE)

# Python (ruff: rules, then formatting) and our own browser scripts (ESLint's recommended rules, eslint.config.mjs).
lint: $(STAMP) $(NPM_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	npx --no-install eslint static/js/

# The Arabic catalog must cover every string in the code: refresh it, then fail on
# anything untranslated or fuzzy (the header entry excepted).
messages: $(STAMP)
	$(PY) manage.py makemessages -l ar --no-location --no-obsolete --ignore=$(VENV) --ignore=node_modules --ignore=tests --ignore=staticfiles --ignore=var -v0

check: lint messages
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) scripts/check_catalog.py locale/ar/LC_MESSAGES/django.po

# A worker for QUEUES: "realtime" (reminders, digests, webhook deliveries, survey sending: what
# people wait for) and "batch" (imports, rollups, exports, model training and scoring, nightly
# jobs). Default both; in production run one worker per queue (docker-compose.yml), e.g.
#   make worker QUEUES=realtime    make worker QUEUES=batch
QUEUES ?= realtime,batch
worker: install
	$(VENV)/bin/celery -A config worker -Q $(QUEUES) --loglevel=info

# The schedule's state file lives in var/ (gitignored), not in the repository root.
beat: install
	$(VENV)/bin/celery -A config beat --loglevel=info --schedule var/celerybeat-schedule

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles
