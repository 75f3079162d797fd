"""Real services for the reminder tests: an SMTP server (aiosmtpd), Celery worker processes, Redis.

Nothing here is a stand-in: the worker is `celery -A config worker` in its own
process, consuming from the Redis of REDIS_URL and writing to the test database;
the SMTP server is a real one on a local port that records what it accepted.
"""

import asyncio
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]

# Short, for a fast suite. A live sender is never overtaken whatever the lease (it holds
# the row lock); a slow machine only costs extra claims, which MAX_ATTEMPTS allows for.
LEASE_SECONDS = 2.0
MAX_ATTEMPTS = 10


def free_port() -> int:
    """A local TCP port nobody listens on (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str, workers=None, every: float = 0.1) -> None:
    """Poll `predicate`; fail with the workers' logs on timeout, or at once when a worker died by itself."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if workers is not None and workers.crashed():
            pytest.fail(f"a worker exited while waiting for {what}\n--- worker logs ---\n{workers.logs()}")
        time.sleep(every)
    details = f"\n--- worker logs ---\n{workers.logs()}" if workers is not None else ""
    pytest.fail(f"timed out after {timeout}s waiting for {what}{details}")


class Mailbox:
    """aiosmtpd handler that keeps every accepted message.

    `block_at = n` holds the n-th MAIL command until `release` is set: the sender
    is then in the middle of an SMTP conversation, before the server accepted
    anything, which is where a fault test kills it.
    """

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()
        self.mail_commands = 0
        self.block_at: int | None = None
        self.blocked = threading.Event()
        self.release = threading.Event()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            self.mail_commands += 1
            number = self.mail_commands
        if number == self.block_at:
            self.blocked.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [message["Message-ID"] for message in self.messages]


class SmtpServer:
    def __init__(self):
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self):
        return list(self.mailbox.messages)

    def use_in(self, settings) -> None:
        """Point this process's email at the server."""
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = self.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.mailbox.release.set()
        server.controller.stop()


@pytest.fixture
def fast_reminders(settings):
    """Short lease and backoff in this process (the workers get the same through their environment)."""
    settings.REMINDER_LEASE_SECONDS = LEASE_SECONDS
    settings.REMINDER_RETRY_SECONDS = 0.2
    settings.REMINDER_MAX_ATTEMPTS = MAX_ATTEMPTS
    return settings


@pytest.fixture
def redis_broker():
    """The suite's Redis database, emptied before and after: no message of another test leaks in."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


def _test_database_url() -> str:
    params = connection.settings_dict
    credentials = quote(params["USER"] or "", safe="")
    if params.get("PASSWORD"):
        credentials += ":" + quote(params["PASSWORD"], safe="")
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{params['NAME']}"


class Workers:
    """Celery worker processes started by a test, always stopped at its end."""

    def __init__(self, tmp_path: Path, smtp: SmtpServer):
        self.tmp_path = tmp_path
        self.smtp = smtp
        self.processes: list[tuple[subprocess.Popen, Path]] = []
        self.killed: set[int] = set()

    def environment(self) -> dict:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "CELERY_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            # The worker must write where the test reads: the test database, not the configured one.
            DATABASE_URL=_test_database_url(),
            REDIS_URL=os.environ["REDIS_URL"],
            EMAIL_URL=f"smtp://127.0.0.1:{self.smtp.port}",
            EMAIL_TIMEOUT="10",
            SITE_URL=django_settings.SITE_URL,
            REMINDER_LEASE_SECONDS=str(LEASE_SECONDS),
            REMINDER_RETRY_SECONDS="0.2",
            REMINDER_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
            LOG_LEVEL="INFO",
        )
        return env

    def start(self, name: str, *, queues: str = "realtime,batch") -> subprocess.Popen:
        """A worker consuming `queues` (config/settings.py CELERY_TASK_QUEUES; reminders are on "realtime")."""
        log_path = self.tmp_path / f"worker-{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool=solo",
                    "-Q",
                    queues,
                    "--without-mingle",
                    "--without-gossip",
                    "--without-heartbeat",
                    "--loglevel=INFO",
                    "-n",
                    f"{name}-{os.getpid()}@%h",
                ],
                cwd=BASE_DIR,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.processes.append((process, log_path))
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL: no warm shutdown, no ack, no rollback by the worker itself."""
        self.killed.add(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def crashed(self) -> bool:
        """A worker this test did not kill has exited (it failed to start, or died)."""
        return any(process.poll() is not None and process.pid not in self.killed for process, _p in self.processes)

    def logs(self) -> str:
        return "\n".join(
            f"== {path.name} ==\n{path.read_text(errors='replace')[-4000:]}" for _p, path in self.processes
        )

    def stop_all(self) -> None:
        # SIGKILL: the test is over and the database and Redis are wiped after it; even a
        # cold shutdown costs two seconds a worker, and surviving a kill is what is tested.
        for process, _path in self.processes:
            if process.poll() is None:
                process.kill()
        for process, _path in self.processes:
            process.wait(timeout=10)


@pytest.fixture
def workers(transactional_db, tmp_path, smtp_server, redis_broker, fast_reminders):
    """Start workers with `workers.start(name)`; all are stopped before the database is cleaned."""
    pool = Workers(tmp_path, smtp_server)
    try:
        yield pool
    finally:
        pool.stop_all()
