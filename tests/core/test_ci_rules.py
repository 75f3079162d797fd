"""The suite's own rules: in CI no test may skip, and no test may hang (pytest-timeout); in
parallel (pytest-xdist, as `make test` runs) the same, and each worker has its own Redis database."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SAMPLE = """
import time

import pytest


def test_runs():
    assert True


def test_skips_inside():
    pytest.skip("no scanner attached")


@pytest.mark.skip(reason="not today")
def test_skipped_by_marker():
    pass
"""


def _run(tmp_path, *args, ci: str | None, **environment: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    # Not this worker's xdist variables: the run below is a main process of its own.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_XDIST_")}
    env.update(PYTHONPATH=str(REPO), **environment)
    env.pop("CI", None)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.services", "-p", "no:django", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_skipped_test_fails_the_run_in_ci_and_is_listed(tmp_path):
    result = _run(tmp_path, "test_sample.py", ci="true")
    assert result.returncode == 1, result.stdout
    assert "skipped in CI" in result.stdout
    assert "test_sample.py::test_skips_inside: no scanner attached" in result.stdout
    assert "test_sample.py::test_skipped_by_marker: not today" in result.stdout


def test_skips_pass_outside_ci_and_ci_is_read_one_way(tmp_path):
    assert _run(tmp_path, "test_sample.py", ci=None).returncode == 0
    assert _run(tmp_path, "test_sample.py", ci="false").returncode == 0
    assert _run(tmp_path, "test_sample.py", ci="1").returncode == 1


def test_a_hanging_test_is_stopped_by_the_timeout(tmp_path):
    (tmp_path / "test_hang.py").write_text("import time\n\n\ndef test_hangs():\n    time.sleep(60)\n")
    result = _run(tmp_path, "test_hang.py", "--timeout=2", ci=None)
    assert result.returncode == 1
    assert "Timeout" in result.stdout + result.stderr


def test_the_suite_has_a_default_timeout():
    import tomllib

    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert options["timeout"] == 300


NEEDS_REDIS = """
import pytest


@pytest.mark.redis
def test_needs_redis():
    pass


def test_needs_nothing():
    pass
"""


def test_a_real_service_test_is_listed_when_skipped_and_fails_in_ci(tmp_path):
    (tmp_path / "test_services.py").write_text(NEEDS_REDIS)
    skipped = _run(tmp_path, "test_services.py", ci=None, REDIS_URL="")  # set but empty: no Redis
    assert skipped.returncode == 0, skipped.stdout
    assert "real-service tests skipped" in skipped.stdout
    assert "test_services.py::test_needs_redis (no redis)" in skipped.stdout
    assert "test_needs_nothing (no" not in skipped.stdout

    failed = _run(tmp_path, "test_services.py", ci="true", REDIS_URL="")
    assert failed.returncode == 1, failed.stdout
    assert "ERROR test_services.py::test_needs_redis - Failed: CI must run this test on a real Redis" in failed.stdout
    assert "1 passed" in failed.stdout and "1 error" in failed.stdout


def test_in_parallel_a_skipped_test_still_fails_the_run_in_ci_and_is_listed(tmp_path):
    result = _run(tmp_path, "test_sample.py", "-n", "2", ci="true")
    assert result.returncode == 1, result.stdout
    assert "skipped in CI" in result.stdout
    assert "test_sample.py::test_skips_inside: no scanner attached" in result.stdout
    assert "test_sample.py::test_skipped_by_marker: not today" in result.stdout


def test_in_parallel_the_real_service_tests_skipped_for_want_of_one_are_listed(tmp_path):
    (tmp_path / "test_services.py").write_text(NEEDS_REDIS)
    result = _run(tmp_path, "test_services.py", "-n", "2", ci=None, REDIS_URL="")
    assert result.returncode == 0, result.stdout
    assert "real-service tests skipped" in result.stdout
    assert "test_services.py::test_needs_redis (no redis)" in result.stdout
    assert "test_needs_nothing (no" not in result.stdout


REDIS_5 = "redis://:secret@127.0.0.1:6379/5?socket_timeout=5"
WORKER_URLS = """
import os
from pathlib import Path


def pytest_configure(config):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (Path(__file__).parent / f"{worker}.url").write_text(os.environ["REDIS_URL"])
"""


def test_each_parallel_worker_has_its_own_redis_database_below_the_benchmarks_ones(tmp_path):
    (tmp_path / "conftest.py").write_text(WORKER_URLS)
    result = _run(tmp_path, "test_sample.py", "-n", "3", ci=None, REDIS_URL=REDIS_5)
    assert result.returncode == 0, result.stdout + result.stderr
    urls = {path.stem: path.read_text() for path in tmp_path.glob("*.url")}
    assert urls == {
        "main": REDIS_5,
        "gw0": REDIS_5,
        "gw1": "redis://:secret@127.0.0.1:6379/6?socket_timeout=5",
        "gw2": "redis://:secret@127.0.0.1:6379/7?socket_timeout=5",
    }

    # Databases 13-15 are the benchmarks': a run that would reach them stops before any worker starts.
    for path in tmp_path.glob("*.url"):
        path.unlink()
    refused = _run(tmp_path, "test_sample.py", "-n", "3", ci=None, REDIS_URL="redis://127.0.0.1:6379/11")
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "test worker gw2 would use Redis database 13" in refused.stderr
    assert list(tmp_path.glob("gw*.url")) == []


def test_a_worker_database_is_the_chosen_one_plus_the_worker_number():
    from tests.services import redis_url_for_worker

    assert redis_url_for_worker("redis://127.0.0.1:6379/1", 0) == "redis://127.0.0.1:6379/1"
    assert redis_url_for_worker("redis://127.0.0.1:6379/1", 1) == "redis://127.0.0.1:6379/2"
    assert redis_url_for_worker("redis://127.0.0.1:6379", 2) == "redis://127.0.0.1:6379/2"  # no path: database 0
