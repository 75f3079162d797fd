"""The suite's own rules: in CI no test may skip, and no test may hang (pytest-timeout)."""

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


def _run(tmp_path, *args, ci: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
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
