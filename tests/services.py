"""Pytest plugin (loaded with -p before Django starts): chooses the database and Redis for the suite.

- DATABASE_URL / REDIS_URL set: used as they are.
- Unset: a local PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379)
  are used when they answer; otherwise the suite runs on SQLite with in-process
  Celery and cache, and tests marked `postgres` / `redis` are skipped and listed
  in the summary.
- In CI (CI=true) a real-service test never skips: a missing service fails it. And no test
  skips at all: any skip (a missing browser, a pytest.skip() anywhere) makes the run fail at
  its end, with the skipped tests listed.

`in_ci()` is the one reading of the CI variable; everything else asks it.
"""

import os
import socket

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


if "DATABASE_URL" not in os.environ and _postgres_answers(LOCAL_POSTGRES):
    os.environ["DATABASE_URL"] = LOCAL_POSTGRES
if "REDIS_URL" not in os.environ and _redis_answers(LOCAL_REDIS):
    os.environ["REDIS_URL"] = LOCAL_REDIS

HAS_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://", "pgsql://"))
HAS_REDIS = bool(os.environ.get("REDIS_URL"))


def in_ci() -> bool:
    """Whether the suite runs in CI: CI set to a true value (GitHub, GitLab and .ci/run set CI=true)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


IN_CI = in_ci()

_skipped: list[str] = []  # real-service tests skipped for want of a service (not in CI)
_skips_seen: list[str] = []  # every skipped test, whatever the reason


def pytest_collection_modifyitems(config, items):
    missing = {"postgres": not HAS_POSTGRES, "redis": not HAS_REDIS}
    for item in items:
        for marker, is_missing in missing.items():
            if item.get_closest_marker(marker) and is_missing:
                if IN_CI:
                    item.add_marker(pytest.mark.usefixtures("_fail_missing_" + marker))
                else:
                    _skipped.append(f"{item.nodeid} (no {marker})")
                    item.add_marker(pytest.mark.skip(reason=f"needs a real {marker}; none answered"))


@pytest.fixture
def _fail_missing_postgres():
    pytest.fail("CI must run this test on a real PostgreSQL, but DATABASE_URL is not a PostgreSQL URL")


@pytest.fixture
def _fail_missing_redis():
    pytest.fail("CI must run this test on a real Redis, but REDIS_URL is not set")


def pytest_report_header(config):
    database = "PostgreSQL" if HAS_POSTGRES else "SQLite"
    redis_state = "Redis" if HAS_REDIS else "none (in-process Celery and cache)"
    return f"safqa: database {database}; broker/cache {redis_state}"


def pytest_runtest_logreport(report):
    # A skip shows in the setup report (markers, fixtures that skip) or the call report (pytest.skip()).
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skips_seen.append(f"{report.nodeid}: {reason.removeprefix('Skipped: ')}")


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
