"""Pytest plugin (loaded with -p before Django starts): chooses the database and Redis for the suite.

- DATABASE_URL / REDIS_URL set: used as they are.
- Unset: a local PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379)
  are used when they answer; otherwise the suite runs on SQLite with in-process
  Celery and cache, and tests marked `postgres` / `redis` are skipped and listed
  in the summary.
- In CI (CI=true) a real-service test never skips: a missing service fails it. And no test
  skips at all: any skip (a missing browser, a pytest.skip() anywhere) makes the run fail at
  its end, with the skipped tests listed.
- Under pytest-xdist (`make test` runs 2 workers) each worker gets its own Redis database: the
  chosen one plus the worker's number (gw0 the chosen one, gw1 the next, ...), so a worker's
  `flushdb`, queued tasks and cache never reach another's. pytest-django already gives each worker
  its own test database (test_<name>_gw0, ...). The skip rules and listings above hold as well: they
  are read from the test reports, which the workers send to the main process.

`in_ci()` is the one reading of the CI variable; everything else asks it.
"""

import os
import socket
from urllib.parse import urlsplit, urlunsplit

import pytest

LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/safqa"
LOCAL_REDIS = "redis://127.0.0.1:6379/1"


def _postgres_answers(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=2):
            return True
    except Exception:
        return False


def _redis_answers(url: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            pass
        import redis

        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except Exception:
        return False


# Redis databases from 13 on are kept for benchmarks (make bench uses 15, runs by hand 13 and 14): a
# test worker never moves onto one, where its flushdb would empty a running benchmark's queue.
FIRST_BENCH_REDIS_DATABASE = 13


def xdist_worker_index() -> int:
    """This process's pytest-xdist worker number (gw0 is 0, gw1 is 1, ...); 0 without xdist.

    xdist sets PYTEST_XDIST_WORKER in a worker before its plugins load, so the settings read at
    import see the worker's own URLs.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker.removeprefix("gw")) if worker.startswith("gw") else 0


def redis_url_for_worker(url: str, index: int) -> str:
    """`url` moved `index` Redis databases on: xdist worker gw<index>'s own database (gw0: `url` itself)."""
    if index == 0:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or "db=" in parts.query:
        raise pytest.UsageError(
            f"REDIS_URL {url!r}: parallel tests need a redis:// URL whose path is the database number "
            "(e.g. redis://127.0.0.1:6379/1), to give each worker the next one"
        )
    base = int(parts.path.strip("/") or 0)
    database = base + index
    if database >= FIRST_BENCH_REDIS_DATABASE:
        raise pytest.UsageError(
            f"test worker gw{index} would use Redis database {database} (REDIS_URL's {base} plus its number), "
            f"but databases from {FIRST_BENCH_REDIS_DATABASE} on are kept for the benchmarks: run fewer "
            "workers (-n, PYTEST_WORKERS) or point REDIS_URL at a lower database"
        )
    return urlunsplit(parts._replace(path=f"/{database}"))


if "DATABASE_URL" not in os.environ and _postgres_answers(LOCAL_POSTGRES):
    os.environ["DATABASE_URL"] = LOCAL_POSTGRES
if "REDIS_URL" not in os.environ and _redis_answers(LOCAL_REDIS):
    os.environ["REDIS_URL"] = LOCAL_REDIS
# The main process chose REDIS_URL above and its workers inherit it; each worker moves to its own
# database. A process the tests start (Celery workers, servers) inherits the worker's.
if os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = redis_url_for_worker(os.environ["REDIS_URL"], xdist_worker_index())

HAS_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://", "pgsql://"))
HAS_REDIS = bool(os.environ.get("REDIS_URL"))


def in_ci() -> bool:
    """Whether the suite runs in CI: CI set to a true value (GitHub, GitLab and .ci/run set CI=true)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


IN_CI = in_ci()

_skipped: list[str] = []  # real-service tests skipped for want of a service (not in CI)
_skips_seen: list[str] = []  # every skipped test, whatever the reason
# Both lists are filled from the test reports: under xdist the workers collect and run the tests
# and send their reports to the main process, which alone prints the summary and sets the exit status.
MISSING_SERVICE = "safqa_missing_service"  # the user property naming the service a skipped test lacked


def pytest_configure(config):
    # In the main process of a parallel run, before any worker starts: every worker's Redis
    # database must be one it may use (a worker would otherwise fail as it loads this plugin).
    workers = getattr(config.option, "numprocesses", None)
    if HAS_REDIS and workers and not hasattr(config, "workerinput"):
        for index in range(workers):
            redis_url_for_worker(os.environ["REDIS_URL"], index)


MISSING_IN_CI = {
    "postgres": "CI must run this test on a real PostgreSQL, but DATABASE_URL is not a PostgreSQL URL",
    "redis": "CI must run this test on a real Redis, but REDIS_URL is not set",
}


def pytest_collection_modifyitems(config, items):
    missing = {"postgres": not HAS_POSTGRES, "redis": not HAS_REDIS}
    for item in items:
        for marker, is_missing in missing.items():
            if item.get_closest_marker(marker) and is_missing:
                item.user_properties.append((MISSING_SERVICE, marker))
                if not IN_CI:
                    item.add_marker(pytest.mark.skip(reason=f"needs a real {marker}; none answered"))


def pytest_runtest_setup(item):
    # In CI a test that lacks its service fails before it starts (a fixture added to the item at
    # collection would come too late: pytest has settled each test's fixtures by then).
    if IN_CI:
        for name, service in item.user_properties:
            if name == MISSING_SERVICE:
                pytest.fail(MISSING_IN_CI[service], pytrace=False)


def pytest_report_header(config):
    database = "PostgreSQL" if HAS_POSTGRES else "SQLite"
    redis_state = "Redis" if HAS_REDIS else "none (in-process Celery and cache)"
    if HAS_REDIS and getattr(config.option, "numprocesses", None):
        redis_state += " (a database per worker from REDIS_URL's on)"
    return f"safqa: database {database}; broker/cache {redis_state}"


def pytest_runtest_logreport(report):
    # A skip shows in the setup report (markers, fixtures that skip) or the call report (pytest.skip()).
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skips_seen.append(f"{report.nodeid}: {reason.removeprefix('Skipped: ')}")
        for name, service in report.user_properties:
            if name == MISSING_SERVICE:
                _skipped.append(f"{report.nodeid} (no {service})")


def pytest_sessionfinish(session, exitstatus):
    # CI must run every test: a skip there hides a test that was never run behind a green build.
    if in_ci() and _skips_seen and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if _skipped:
        terminalreporter.section("real-service tests skipped")
        for line in _skipped:
            terminalreporter.write_line(line)
    if in_ci() and _skips_seen:
        terminalreporter.section("skipped in CI: the run fails, every test must run", red=True)
        for line in _skips_seen:
            terminalreporter.write_line(line, red=True)
