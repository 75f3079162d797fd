"""The benchmark runner's arithmetic and output, and the query-count header it reads.

The suite itself runs in CI as `make bench SCALE=0.01`; these check the parts whose mistakes
would silently skew every figure.
"""

import json
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.floor import timed_concurrently
from bench.results import (
    RESULT_KEYS,
    MemorySampler,
    format_table,
    latency_summary,
    median_or_none,
    percentile,
    ratio,
    result,
    write_json,
)
from bench.run import TARGETS, defaults_for, judge, memory_results
from tests.factories import UserFactory


def test_percentile_interpolates_between_closest_ranks():
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 100) == 100
    assert percentile(values, 0) == 1


def test_percentile_ignores_input_order_and_handles_tiny_samples():
    assert percentile([30, 10, 20], 50) == 20
    assert percentile([7], 95) == 7
    assert percentile([], 95) is None


def test_latency_summary_gives_p50_p95_p99():
    summary = latency_summary([10.0] * 94 + [100.0] * 5 + [1000.0])
    assert summary["p50"] == 10.0
    assert summary["p95"] == pytest.approx(100.0)
    assert summary["p99"] == pytest.approx(100.0 + 0.01 * 900, rel=1e-6)


def test_ratio_is_none_without_a_floor():
    assert ratio(30.0, 10.0) == 3.0
    assert ratio(30.0, None) is None
    assert ratio(None, 10.0) is None
    assert ratio(30.0, 0) is None


def test_median_skips_missing_query_counts():
    assert median_or_none([4, None, 6, 5]) == 5
    assert median_or_none([None, None]) is None


def test_result_has_every_key_and_computes_the_ratio():
    row = result("api_contacts_list", p95=45.0, floor_p95=15.0)
    assert tuple(row) == RESULT_KEYS
    assert row["ratio"] == 3.0
    assert row["errors"] == 0
    assert row["unit"] == "ms"


def test_result_refuses_unknown_keys():
    with pytest.raises(ValueError, match="p96"):
        result("board", p96=1.0)


def test_judge_applies_both_conditions_of_the_contacts_list_target():
    fast_but_far_from_floor = result("api_contacts_list", p95=40.0, floor_p95=10.0)
    within_both = result("api_contacts_list", p95=40.0, floor_p95=20.0)
    too_slow = result("api_contacts_list", p95=60.0, floor_p95=30.0)
    judge([fast_but_far_from_floor, within_both, too_slow])
    assert [fast_but_far_from_floor["met"], within_both["met"], too_slow["met"]] == [False, True, False]
    assert within_both["target"] == TARGETS["api_contacts_list"][0]


def test_judge_uses_throughput_for_sync_and_keeps_a_batch_operations_own_verdict():
    sync = result("api_sync", p95=80.0, throughput=12_000.0, throughput_unit="contacts/s")
    batch = result("rollup_full", unit="s", p95=70.0, target="≤ 60 s", met=False)
    judge([sync, batch])
    assert sync["met"] is True
    assert batch["met"] is False and batch["target"] == "≤ 60 s"


def test_memory_rows_are_judged_against_the_limits():
    rows = {row["op"]: row for row in memory_results({"web_worker": 260.0, "celery_worker": 120.0, "web_master": 30})}
    assert rows["peak_rss_web_worker"]["met"] is False
    assert rows["peak_rss_celery_worker"]["met"] is True
    assert rows["peak_rss_web_master"]["met"] is None


def test_table_shows_each_operation_with_units_and_verdict():
    rows = [
        result(
            "board",
            p50=90.0,
            p95=150.0,
            p99=180.0,
            throughput=42.5,
            throughput_unit="req/s",
            saturated=61.0,
            queries=8,
            floor_p95=10.0,
            target="≤ 200 ms",
            met=True,
        ),
        result("api_sync", p95=95.0, throughput=12_345.0, throughput_unit="contacts/s", met=False),
    ]
    table = format_table(rows).splitlines()
    assert table[0].startswith("| operation | unit | p50 | p95 | p99 | throughput |")
    assert (
        table[2] == "| board | ms | 90.0 | 150.0 | 180.0 | 42.5 req/s | 61.0 | 8 | 0 | 10.0 | 15.0× | ≤ 200 ms | yes |"
    )
    assert "12,345 contacts/s" in table[3] and table[3].endswith("| NO |")
    assert len(table) == 4


def test_json_is_written_atomically_under_date_and_scale(tmp_path):
    path = write_json({"results": [result("board", p95=1.0)]}, 0.01, "2026-01-31", directory=tmp_path)
    assert path.name == "2026-01-31-0.01.json"
    assert json.loads(path.read_text())["results"][0]["op"] == "board"
    assert list(tmp_path.iterdir()) == [path]


def test_short_windows_at_small_scale():
    assert defaults_for(0.01) == (1.0, 2.0)
    assert defaults_for(10) == (5.0, 15.0)


def test_memory_sampler_records_the_peak_of_a_watched_process():
    import os

    sampler = MemorySampler()
    sampler.watch("runner", os.getpid())
    sampler.sample()
    assert sampler.peak_mb()["runner"] > 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_floor_timer_counts_the_queries_of_the_window():
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    dsn = f"host={db['HOST']} port={db['PORT'] or 5432} user={db['USER']} dbname={db['NAME']}"
    if connection.vendor != "postgresql":
        pytest.skip("the floor speaks to PostgreSQL")
    run = timed_concurrently(
        lambda: psycopg.connect(dsn, autocommit=True),
        [("SELECT %(n)s", {"n": 1})],
        users=2,
        warmup=0.1,
        duration=0.3,
    )
    assert run["errors"] == 0
    assert len(run["latencies"]) > 0
    assert 0.3 <= run["window_s"] < 2


@pytest.mark.django_db
def test_query_header_counts_every_query_of_the_request(client, settings):
    settings.BENCH_QUERY_HEADER = True
    client.force_login(UserFactory())
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    assert int(response.headers["X-Safqa-Queries"]) == len(queries.captured_queries) > 0


@pytest.mark.django_db
def test_query_header_is_absent_by_default(client, settings):
    settings.BENCH_QUERY_HEADER = False
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert "X-Safqa-Queries" not in response.headers


def test_the_benchmarks_production_settings_still_install_its_commands():
    # The bench runs Safqa with DEBUG=0, where the bench app (seed_bench) is installed only when asked for.
    import subprocess
    import sys
    from pathlib import Path

    from bench.run import app_environment

    env = app_environment("postgres://postgres@127.0.0.1:5432/unused", "redis://127.0.0.1:6379/15", 8000)
    result = subprocess.run(
        [sys.executable, "manage.py", "help", "seed_bench"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_contact_update_floor_locks_the_row_before_the_counter_as_the_app_does():
    """A PATCH the server is still answering holds the contact's row and then asks for the change counter;
    the floor statement for the same contact must wait for the row without holding the counter, or the
    two deadlock (a bench run failed on that)."""
    import threading

    import psycopg
    from django.conf import settings
    from django.db import transaction

    from bench import floor
    from core.sync import take_change_seq
    from tests.factories import ContactFactory

    contact = ContactFactory()
    with transaction.atomic():  # the counter row exists once something has taken a number
        take_change_seq()
    db = settings.DATABASES["default"]
    dsn = f"host={db['HOST']} port={db['PORT'] or 5432} user={db['USER']} dbname={db['NAME']}"
    query, params = floor.contact_update(viewer=contact.owner_id, admin=False, contact=contact.pk, job_title="floor")
    outcome = {}

    with psycopg.connect(dsn) as app:  # the app's order: the row, then the counter
        app.execute("SET lock_timeout = '5s'")
        app.execute("SELECT id FROM crm_contact WHERE id = %s FOR UPDATE", [contact.pk])

        def run_floor():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    outcome["row"] = conn.execute(query, params).fetchone()
            except Exception as error:  # reported by the assertion below
                outcome["error"] = error

        thread = threading.Thread(target=run_floor)
        thread.start()
        time.sleep(0.5)  # the floor statement is now waiting for the row
        app.execute("SELECT last_seq FROM core_changecounter WHERE id = 1 FOR UPDATE")
        app.commit()
        thread.join(10)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["row"] is not None
    contact.refresh_from_db()
    assert contact.job_title == "floor"


def test_the_win_model_runs_before_the_pages_that_show_its_scores():
    from bench.run import run_sequence

    before, http_ops, after = run_sequence(
        ["board", "win_model", "deal_list", "my_day", "sales_forecast", "rollup_full"]
    )
    assert before == ["rollup_full", "win_model"]
    assert http_ops == ["board", "my_day", "deal_list"]
    assert after == ["sales_forecast"]


def test_the_notes_under_the_table_show_what_the_auc_verdict_rests_on():
    from bench.results import format_notes

    rows = [
        result("win_model_auc", unit="AUC", p95=0.74, notes="best achievable 0.76, stage baseline 0.61"),
        result("board", p95=120.0),
    ]
    assert format_notes(rows) == "- win_model_auc: best achievable 0.76, stage baseline 0.61"
    assert "| win_model_auc | AUC | – | 0.740 | – |" in format_table(rows)


def test_the_forecast_notes_give_the_backtest_error_or_say_why_there_is_none():
    from bench.ops_assistant import forecast_notes

    fitted = [
        {
            "team": "الرياض",
            "currency": "SAR",
            "status": "forecast",
            "method": "trend",
            "months": 20,
            "needed": 18,
            "mape": 12.5,
            "backtest_months": 6,
        },
        {
            "team": "جدة",
            "currency": "SAR",
            "status": "forecast",
            "method": "trend",
            "months": 20,
            "needed": 18,
            "mape": 30.0,
            "backtest_months": 6,
        },
        {
            "team": "جدة",
            "currency": "USD",
            "status": "forecast",
            "method": "trend",
            "months": 20,
            "needed": 18,
            "mape": 20.0,
            "backtest_months": 6,
        },
    ]
    notes, any_fitted = forecast_notes(fitted)
    assert any_fitted
    assert "3 of 3 team currencies forecast" in notes
    assert "backtest MAPE median 20.0 %, worst 30.0 % (جدة, SAR, trend)" in notes
    short = [
        {
            "team": "x",
            "currency": "SAR",
            "status": "too_short",
            "method": "",
            "months": 11,
            "needed": 18,
            "mape": None,
            "backtest_months": 0,
        }
    ]
    notes, any_fitted = forecast_notes(short)
    assert not any_fitted
    assert "1 too short: 11 complete months of history, 18 needed" in notes


def test_the_phone_transfer_counts_only_what_came_from_the_network():
    from bench.ops_phone import tally

    entries = [
        {"path": "/", "bytes": 40_000, "from_cache": False, "content_type": "text/html; charset=utf-8", "encoding": ""},
        {
            "path": "/static/css/a.css",
            "bytes": 9_000,
            "from_cache": False,
            "content_type": "text/css",
            "encoding": "br",
        },
        {"path": "/static/f.woff2", "bytes": 48_000, "from_cache": True, "content_type": "font/woff2", "encoding": ""},
    ]
    figures = tally(entries)
    assert figures["bytes"] == 49_000 and figures["responses"] == 2 and figures["cached"] == 1
    assert figures["kinds"] == {"html": 40_000, "css": 9_000}
    assert figures["uncompressed"] == ["/"]
