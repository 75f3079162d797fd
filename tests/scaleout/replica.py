"""A real PostgreSQL streaming replica of the suite's database server, made for the test session.

`pg_basebackup` copies the running cluster (DATABASE_URL's host and port) into a temporary
directory, `-R` makes the copy a standby (standby.signal, primary_conninfo), and the server binaries
of the primary's own major version start it on a free local port. Run as root (CI), the copy and the
server belong to the postgres system user, as PostgreSQL requires. Replication connections need a
pg_hba.conf rule and the primary's wal_level/max_wal_senders; a missing rule is added (once, with a
comment) to the primary's pg_hba.conf, for 127.0.0.1 and the suite's own database user only, with the
authentication method the suite's ordinary connections already get. Stopped and deleted at the end.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

HBA_COMMENT = "# Safqa test suite: streaming replica of this cluster (tests/scaleout/replica.py)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ReplicaError(RuntimeError):
    pass


class StreamingReplica:
    def __init__(self, *, host: str, port: int, user: str, password: str | None, dbname: str):
        self.primary = {"host": host, "port": port, "user": user, "password": password or None}
        self.dbname = dbname
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="safqa-replica-"))
        self.data_dir = self.tmp / "data"
        self.log_path = self.tmp / "replica.log"
        self.os_user = "postgres" if os.geteuid() == 0 else None  # postgres refuses to run as root
        self.bindir: Path | None = None
        self.started = False

    # Connections ---------------------------------------------------------------------------------

    def primary_connection(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(dbname=dbname, autocommit=True, connect_timeout=5, **self.primary)

    def connection(self, dbname: str | None = None) -> psycopg.Connection:
        """A connection to the replica (superuser, as the suite's user)."""
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.primary["user"],
            password=self.primary["password"],
            dbname=dbname or self.dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def url(self) -> str:
        from urllib.parse import quote

        credentials = quote(self.primary["user"], safe="")
        if self.primary["password"]:
            credentials += ":" + quote(self.primary["password"], safe="")
        return f"postgres://{credentials}@127.0.0.1:{self.port}/{self.dbname}"

    # Set-up ----------------------------------------------------------------------------------------

    def start(self) -> StreamingReplica:
        try:
            with self.primary_connection() as primary:
                self._check_primary(primary)
                self._allow_replication(primary)
            self._base_backup()
            self._configure()
            self._run(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_path),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
            self.started = True
            self.wait_streaming(timeout=60)
        except BaseException:
            self.stop()
            raise
        return self

    def _check_primary(self, primary: psycopg.Connection) -> None:
        values = dict(
            primary.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('wal_level', 'max_wal_senders', 'server_version_num', 'max_connections', "
                "'max_worker_processes', 'max_prepared_transactions', 'max_locks_per_transaction', "
                "'max_wal_senders')"
            ).fetchall()
        )
        if values["wal_level"] not in ("replica", "logical") or int(values["max_wal_senders"]) < 2:
            raise ReplicaError(
                f"the test PostgreSQL cannot feed a replica (wal_level={values['wal_level']}, "
                f"max_wal_senders={values['max_wal_senders']}): set wal_level=replica and max_wal_senders>=2 "
                "(the defaults) and restart it"
            )
        self.primary_settings = values
        major = int(values["server_version_num"]) // 10000
        candidates = [Path(f"/usr/lib/postgresql/{major}/bin")]
        pg_config = shutil.which("pg_config")
        if pg_config:
            candidates.append(
                Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip())
            )
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(Path(on_path).parent)
        for bindir in candidates:
            if (bindir / "pg_ctl").exists() and (bindir / "pg_basebackup").exists():
                version = subprocess.run([str(bindir / "pg_ctl"), "--version"], capture_output=True, text=True).stdout
                if f" {major}." in version:
                    self.bindir = bindir
                    return
        raise ReplicaError(f"no PostgreSQL {major} server binaries (pg_ctl, pg_basebackup) on this machine")

    def _allow_replication(self, primary: psycopg.Connection) -> None:
        user = self.primary["user"]
        rules = primary.execute(
            "SELECT database, user_name, address, auth_method FROM pg_hba_file_rules "
            "WHERE error IS NULL AND type = 'host' ORDER BY line_number"
        ).fetchall()

        def covers(address) -> bool:
            return address in (None, "all", "127.0.0.1", "samehost", "samenet") or address == "0.0.0.0"

        def matches_user(users) -> bool:
            return "all" in users or user in users

        if any(
            "replication" in databases and matches_user(users) and covers(address)
            for databases, users, address, _m in rules
        ):
            return
        # The method the suite's own connections get (trust on a CI machine): no new way in.
        method = next(
            (
                m
                for databases, users, address, m in rules
                if "all" in databases and matches_user(users) and covers(address)
            ),
            "scram-sha-256",
        )
        hba_file = Path(primary.execute("SHOW hba_file").fetchone()[0])
        if not os.access(hba_file, os.W_OK):
            raise ReplicaError(
                f"replication connections are not allowed by {hba_file} and this user cannot add the rule: add "
                f"'host replication {user} 127.0.0.1/32 {method}' and reload PostgreSQL"
            )
        text = hba_file.read_text()
        if HBA_COMMENT not in text:
            # First match wins: the rule goes before any other replication rule.
            hba_file.write_text(f"{HBA_COMMENT}\nhost replication {user} 127.0.0.1/32 {method}\n{text}")
        primary.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)

    def _run(self, command: list[str], **kwargs) -> subprocess.CompletedProcess:
        env = {**os.environ}
        if self.primary["password"]:
            env["PGPASSWORD"] = self.primary["password"]
        result = subprocess.run(
            command, user=self.os_user, capture_output=True, text=True, env=env, cwd=self.tmp, timeout=300, **kwargs
        )
        if result.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
            raise ReplicaError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}\n{log}")
        return result

    def _base_backup(self) -> None:
        if self.os_user:
            record = pwd.getpwnam(self.os_user)
            os.chown(self.tmp, record.pw_uid, record.pw_gid)
        self._run(
            [
                str(self.bindir / "pg_basebackup"),
                "-h",
                self.primary["host"],
                "-p",
                str(self.primary["port"]),
                "-U",
                self.primary["user"],
                "-D",
                str(self.data_dir),
                "-X",
                "stream",
                "-c",
                "fast",
                "-R",
                "--no-sync",
                "-w",
            ]
        )

    def _configure(self) -> None:
        """The replica's own configuration (a Debian cluster keeps it outside the data directory)."""
        with self.primary_connection() as primary:
            hba = Path(primary.execute("SHOW hba_file").fetchone()[0]).read_text()
            ident = Path(primary.execute("SHOW ident_file").fetchone()[0])
        settings = self.primary_settings
        config = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.data_dir}'",
            "hba_file": f"'{self.data_dir / 'pg_hba.conf'}'",
            "ident_file": f"'{self.data_dir / 'pg_ident.conf'}'",
            # A hot standby needs at least the primary's values of these.
            "max_connections": settings["max_connections"],
            "max_worker_processes": settings["max_worker_processes"],
            "max_prepared_transactions": settings["max_prepared_transactions"],
            "max_locks_per_transaction": settings["max_locks_per_transaction"],
            "max_wal_senders": settings["max_wal_senders"],
            "hot_standby": "on",
            "shared_buffers": "32MB",
            "fsync": "off",  # a throw-away copy
            "logging_collector": "off",
            "cluster_name": "'safqa-test-replica'",
        }
        # postgresql.auto.conf (written by -R, with primary_conninfo) is read after this file and wins.
        (self.data_dir / "postgresql.conf").write_text("".join(f"{key} = {value}\n" for key, value in config.items()))
        # The same clients may connect as to the primary, no others.
        (self.data_dir / "pg_hba.conf").write_text(hba)
        (self.data_dir / "pg_ident.conf").write_text(ident.read_text() if ident.exists() else "")
        if self.os_user:
            record = pwd.getpwnam(self.os_user)
            for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
                os.chown(self.data_dir / name, record.pw_uid, record.pw_gid)

    # State -----------------------------------------------------------------------------------------

    def wait_streaming(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            try:
                with self.connection("postgres") as replica:
                    in_recovery = replica.execute("SELECT pg_is_in_recovery()").fetchone()[0]
                    receiving = replica.execute(
                        "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'"
                    ).fetchone()[0]
                    if in_recovery and receiving:
                        return
                    last_error = f"in recovery: {in_recovery}, streaming: {receiving}"
            except psycopg.OperationalError as error:
                last_error = str(error)
            time.sleep(0.2)
        log = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
        raise ReplicaError(f"the replica did not start streaming in {timeout}s ({last_error})\n{log}")

    def wait_caught_up(self, *, timeout: float = 30) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        with self.primary_connection() as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.connection("postgres") as replica:
            while time.monotonic() < deadline:
                if replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]:
                    return
                time.sleep(0.05)
        raise ReplicaError(f"the replica did not replay up to {target} in {timeout}s")

    def pause_replay(self) -> None:
        """The replica stops applying the primary's changes (it keeps receiving them): a lag made on purpose."""
        self.wait_caught_up()
        with self.connection("postgres") as replica:
            replica.execute("SELECT pg_wal_replay_pause()")
            deadline = time.monotonic() + 10
            while replica.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != "paused":
                if time.monotonic() > deadline:
                    raise ReplicaError("the replica's replay did not pause")
                time.sleep(0.05)

    def resume_replay(self) -> None:
        with self.connection("postgres") as replica:
            replica.execute("SELECT pg_wal_replay_resume()")

    def stop(self) -> None:
        if self.started and self.bindir is not None:
            subprocess.run(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"],
                user=self.os_user,
                capture_output=True,
                timeout=60,
            )
            self.started = False
        shutil.rmtree(self.tmp, ignore_errors=True)
