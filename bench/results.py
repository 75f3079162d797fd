"""The benchmark's shared vocabulary: the result dict every operation returns, the context every
operation receives, and the statistics, memory sampling and output (terminal table, JSON file).

Kept free of Django imports so the load generator process and the tests can use it without setup.

A result is a plain dict (it goes straight into the JSON file):

    {"op": "api_contacts_list",      # operation name, snake_case
     "unit": "ms",                   # unit of p50/p95/p99: "ms" per request, or "s" for one-shot ops
     "p50": 12.1, "p95": 30.2, "p99": 41.0,
     "throughput": 850.0,            # requests/s or items/s over the measured window
     "saturated": 120.0,             # req/s with no think time (closed loop): what the server can serve
     "throughput_unit": "req/s",     # "req/s" | "contacts/s" | "rows/s" | "reminders/s" | ...
     "count": 12000,                 # requests made, or items processed
     "wall_s": 20.0,                 # wall time of the measured window or of the one-shot run
     "queries": 7,                   # median SQL queries per request (None when not measured)
     "errors": 0,                    # failed requests or failed items; > 0 makes the suite fail
     "floor_p95": 4.0,               # p95 of the hand-written SQL in the same unit (None: no floor)
     "ratio": 7.5,                   # p95 / floor_p95 (None without a floor)
     "target": "≤ 50 ms, ≤ 3× floor",
     "met": True,                    # True / False, None when the op has no target
     "notes": ""}

Use `result()` to build one: it fills the defaults and the ratio.
"""

import contextlib
import json
import os
import platform
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

RESULT_KEYS = (
    "op",
    "unit",
    "p50",
    "p95",
    "p99",
    "throughput",
    "throughput_unit",
    "saturated",
    "count",
    "wall_s",
    "queries",
    "errors",
    "floor_p95",
    "ratio",
    "target",
    "met",
    "notes",
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def result(op: str, **values) -> dict:
    """One result dict with every key present (missing ones None, errors 0) and the ratio filled in."""
    unknown = set(values) - set(RESULT_KEYS)
    if unknown:
        raise ValueError(f"unknown result keys: {sorted(unknown)}")
    row = dict.fromkeys(RESULT_KEYS)
    row.update(op=op, unit="ms", errors=0, target="", notes="")
    row.update(values)
    if row["ratio"] is None:
        row["ratio"] = ratio(row["p95"], row["floor_p95"])
    return row


def timed_result(op: str, seconds: float, *, count: int, throughput_unit: str, **values) -> dict:
    """`result` for a batch operation timed once: its wall time is every percentile, `count` items at a rate."""
    return result(
        op,
        unit="s",
        p50=seconds,
        p95=seconds,
        p99=seconds,
        wall_s=seconds,
        count=count,
        throughput=count / seconds if seconds else None,
        throughput_unit=throughput_unit,
        **values,
    )


def percentile(values, pct: float) -> float | None:
    """The pct-th percentile by linear interpolation between closest ranks (None for no values)."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return float(data[0])
    rank = (len(data) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(data) - 1)
    return float(data[low] + (data[high] - data[low]) * (rank - low))


def latency_summary(latencies_ms) -> dict:
    """p50/p95/p99 in ms of one operation's request latencies."""
    return {
        "p50": percentile(latencies_ms, 50),
        "p95": percentile(latencies_ms, 95),
        "p99": percentile(latencies_ms, 99),
    }


def median_or_none(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(value: float | None, floor: float | None) -> float | None:
    """value / floor, or None when either is missing or the floor is zero."""
    if value is None or not floor:
        return None
    return value / floor


class MemorySampler:
    """Samples the resident set size of watched processes (and their children) in a thread.

    `watch(kind, pid)` adds a process under a kind ("web_master", "web_worker", "celery_worker");
    `peak_mb()` gives the largest RSS one process of each kind reached. The sampling period (0.2 s)
    is short enough to catch a page render's peak without costing the machine.
    """

    def __init__(self, period: float = 0.2):
        self.period = period
        self._watched: dict[int, tuple[str, str | None]] = {}
        self._peaks: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, kind: str, pid: int, children_kind: str | None = None) -> None:
        """Sample `pid` as `kind`; its child processes too, as `children_kind` when given."""
        with self._lock:
            self._watched[pid] = (kind, children_kind)

    def unwatch(self, pid: int) -> None:
        with self._lock:
            self._watched.pop(pid, None)

    def sample(self) -> None:
        with self._lock:
            watched = dict(self._watched)
        for pid, (kind, children_kind) in watched.items():
            try:
                proc = psutil.Process(pid)
                self._record(kind, proc.memory_info().rss)
                if children_kind:
                    for child in proc.children(recursive=True):
                        try:
                            self._record(children_kind, child.memory_info().rss)
                        except psutil.Error:
                            continue
            except psutil.Error:
                continue

    def _record(self, kind: str, rss: int) -> None:
        with self._lock:
            if rss > self._peaks.get(kind, 0):
                self._peaks[kind] = rss

    def peak_mb(self) -> dict[str, float]:
        with self._lock:
            return {kind: rss / 2**20 for kind, rss in sorted(self._peaks.items())}

    def start(self) -> "MemorySampler":
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.period)


@dataclass
class BenchContext:
    """What every operation gets from the runner.

    scale: the S of `make bench SCALE=S`; database_url / redis_url: the app's services (the Redis
    database is the bench's own); base_url: the running gunicorn (http://127.0.0.1:PORT);
    tokens: username → API token text; connect: a fresh psycopg connection (autocommit) to the
    bench database, for floors and checks; tmpdir: scratch directory removed after the run;
    memory: the RSS sampler (watch a Celery worker with `ctx.memory.watch("celery_worker", pid,
    "celery_worker")`); env: the environment the app runs with (DEBUG=0, SECRET_KEY, …), to start
    further app processes (a Celery worker) the same way; duration / warmup: measured window and
    warm-up in seconds for load-driven operations; think: the users' mean pause between requests.
    """

    scale: float
    database_url: str
    redis_url: str
    base_url: str
    tokens: dict[str, str]
    connect: Callable
    tmpdir: Path
    memory: MemorySampler
    env: dict[str, str] = field(default_factory=dict)
    duration: float = 10.0
    warmup: float = 3.0
    users: int = 16
    think: float = 2.0

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def scaled(self, full: int, minimum: int = 1) -> int:
        """`full` items scaled by min(S, 1): the issue's 100,000 / 10,000 counts, smaller below S=1."""
        return max(minimum, round(full * min(self.scale, 1)))


def machine_info(connect: Callable | None = None) -> dict:
    """CPU, memory, versions and commit, so a result file says what it was measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        "postgresql": None,
        "git_commit": None,
    }
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=RESULTS_DIR.parent
        ).stdout.strip()
    if connect is not None:
        with connect() as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
    return info


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


TABLE_COLUMNS = (
    ("op", "operation"),
    ("unit", "unit"),
    ("p50", "p50"),
    ("p95", "p95"),
    ("p99", "p99"),
    ("throughput", "throughput"),
    ("saturated", "saturated req/s"),
    ("queries", "SQL/req"),
    ("errors", "errors"),
    ("floor_p95", "floor p95"),
    ("ratio", "ratio"),
    ("target", "target"),
    ("met", "met"),
)


def format_table(results: list[dict]) -> str:
    """The terminal (and Markdown) table: one row per operation (peak memory rows included)."""
    header = [title for _, title in TABLE_COLUMNS]
    rows = []
    for row in results:
        cells = []
        for key, _ in TABLE_COLUMNS:
            if key == "throughput" and row.get("throughput") is not None:
                cells.append(f"{_fmt(float(row['throughput']))} {row.get('throughput_unit') or ''}".strip())
            elif key == "queries" and row.get("queries") is not None:
                cells.append(f"{row['queries']:g}")
            elif key == "ratio" and row.get("ratio") is not None:
                cells.append(f"{row['ratio']:.1f}×")
            elif key in ("p50", "p95", "p99") and row.get("unit") == "AUC":
                cells.append(_fmt(row.get(key), 3))  # 0.631 against a best achievable of 0.712, not "0.6"
            else:
                cells.append(_fmt(row.get(key)))
        rows.append(cells)
    lines = [_md_row(header), _md_row(["---"] * len(header))]
    lines += [_md_row(cells) for cells in rows]
    return "\n".join(lines)


def format_notes(results: list[dict]) -> str:
    """The notes printed under the table, one line per operation that has some: what the row's figures
    were measured on and what a verdict rests on (the win model's best achievable and stage baseline AUC,
    the forecast's backtest error)."""
    return "\n".join(f"- {row['op']}: {row['notes']}" for row in results if row.get("notes"))


def _md_row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def write_json(payload: dict, scale: float, day: str, directory: Path = RESULTS_DIR) -> Path:
    """Write bench/results/<day>-<scale>.json atomically (a crash leaves only a .tmp behind)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{day}-{scale:g}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    tmp.replace(path)
    return path


def now() -> float:
    """Monotonic seconds, the one clock every measurement uses."""
    return time.perf_counter()
