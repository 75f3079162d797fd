"""Real services for the scale-out tests: a streaming replica of the test PostgreSQL, a web server
configured with it (DATABASE_REPLICA_URLS, as a deployment sets it), Celery workers per queue."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.db import connection

# The reminder tests' real services (SMTP server, Celery worker processes, Redis), for the queue test.
from tests.notifications.conftest import fast_reminders, redis_broker, smtp_server, workers  # noqa: F401
from tests.scaleout.replica import StreamingReplica, free_port

BASE_DIR = Path(__file__).resolve().parents[2]


def database_url_for_processes() -> str:
    """The test database (pytest-django's), as a URL for processes the test starts."""
    params = connection.settings_dict
    credentials = quote(params["USER"] or "", safe="")
    if params.get("PASSWORD"):
        credentials += ":" + quote(params["PASSWORD"], safe="")
    return f"postgres://{credentials}@{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{params['NAME']}"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (it does in this same hook)
def pytest_collection_modifyitems(config, items):
    # In a parallel run (make test: --dist loadgroup) the tests that use the replica go to one worker,
    # so one copy of the cluster is taken, not one a worker. Each would be isolated all the same
    # (its own directory, port and test database), but pg_basebackup copies every database of the
    # cluster, the other workers' included.
    for item in items:
        if "streaming_replica" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("streaming-replica"))


@pytest.fixture(scope="session")
def streaming_replica(django_db_setup, django_db_blocker):
    """One replica for the session, taken once the test database exists; stopped and deleted at the end."""
    with django_db_blocker.unblock():
        params = connection.settings_dict
        replica = StreamingReplica(
            host=params.get("HOST") or "127.0.0.1",
            port=int(params.get("PORT") or 5432),
            user=params["USER"] or "postgres",
            password=params.get("PASSWORD"),
            dbname=params["NAME"],
        )
    replica.start()
    try:
        yield replica
    finally:
        replica.stop()


@pytest.fixture
def replica(streaming_replica, transactional_db):
    """The session's replica, replaying again and caught up after the test (the next one starts clean)."""
    yield streaming_replica
    streaming_replica.resume_replay()
    streaming_replica.wait_caught_up()


class WebServer:
    """gunicorn serving the app on a free local port, with the environment a deployment would give it."""

    def __init__(self, tmp_path: Path, environment: dict):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"gunicorn-{self.port}.log"
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "DATABASE_"))}
        env.pop("REDIS_URL", None)  # tasks in-process, cache in memory: only the database is under test
        env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1", LOG_LEVEL="WARNING", **environment)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi",
                    "--workers",
                    "1",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--log-level",
                    "warning",
                ],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self._wait_ready()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the web server exited at start:\n{self.logs()}")
            try:
                requests.get(self.base + "/healthz/", timeout=10)
                return
            except requests.RequestException:
                time.sleep(0.2)
        pytest.fail(f"the web server did not answer in 60 s:\n{self.logs()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def web_server(tmp_path):
    """`web_server(**environment)` starts one; all are stopped at the end of the test."""
    servers = []

    def start(**environment) -> WebServer:
        server = WebServer(tmp_path, {"DATABASE_URL": database_url_for_processes(), **environment})
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
