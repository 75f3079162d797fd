"""The load generator: locust, headless, in its own process, driving one operation against gunicorn.

    python -m bench.loadgen SPEC.json OUT.json

SPEC: {"base_url", "users", "think", "warmup", "duration", "min_samples", "max_window",
       "requests": [{"path", "headers", "follow_next", "method", "body", "form"}], "each_once"}.
Each simulated user takes the spec's requests in turn from its own starting point, pausing between
them a think time drawn uniformly from 0.5–1.5 × "think" seconds, as a person between clicks or an
app between calls. With "think": 0 it loops without pausing (a closed loop: 16 users means 16
requests always in flight), which measures the server's saturated throughput, not a user's wait.
With "follow_next": N a user also follows the JSON answer's `next` link up to N times, as an API
client paging a list does. "method" (default GET) and "body" (sent as JSON) make it a write; every
"{n}" in the body or a header value becomes a number unique to the request (process id and a count),
so each create is a new record and each Idempotency-Key a new key. "form" (a dict) is sent as an
HTML form (application/x-www-form-urlencoded), with the same "{n}" numbering. With "each_once": true
the users share one pass over the requests, each request sent once (a one-time link each); when they
are used up the users stop (never a repeat, which a one-time link would refuse), and the answer's
"exhausted" is true: the window then holds fewer requests than the server could have answered.

OUT: {"samples": [[latency_ms, status, queries], …], "errors": ["…", …], "window_s": seconds, "exhausted"}: every
request that completed inside the measured window (after the warm-up), whatever its outcome; the
window lasts `duration` seconds, longer (up to `max_window`) until `min_samples` requests finished;
`queries` is the X-Safqa-Queries header (None when absent). The runner turns this into percentiles.

A separate process keeps the client's CPU out of the runner (which samples memory and times the
floor) and out of the server's workers; locust's gevent client is light enough that 16 users cost
a fraction of one core.
"""

import itertools
import json
import logging
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, between, constant, task
from locust.env import Environment
from locust.exception import StopUser

MAX_ERRORS_KEPT = 20


def load(spec: dict) -> dict:
    """Run the spec's requests with spec["users"] users; return the measured window's samples."""
    requests = spec["requests"]
    state = {"measuring": False, "samples": [], "errors": []}
    starts = itertools.count()
    shared_turns = itertools.count()  # "each_once": one pass over the requests for all users together
    numbers = itertools.count()
    process = os.getpid()

    def unique(text: str) -> str:
        return text.replace("{n}", f"{process}-{next(numbers)}") if "{n}" in text else text

    class Client(FastHttpUser):
        host = spec["base_url"]
        think = float(spec.get("think", 0))
        wait_time = between(think * 0.5, think * 1.5) if think else constant(0)
        # The server's answer time is the point: no connection reuse limits, no retries.
        network_timeout = 120.0
        connection_timeout = 10.0

        def on_start(self):
            self.turn = next(starts)

        @task
        def one(self):
            if spec.get("each_once"):
                turn = next(shared_turns)
                if turn >= len(requests):
                    state["exhausted"] = True
                    raise StopUser()
                request = requests[turn]
            else:
                request = requests[self.turn % len(requests)]
                self.turn += 1
            path = request["path"]
            method = request.get("method", "GET")
            headers = {name: unique(value) for name, value in request.get("headers", {}).items()}
            body = None
            if "body" in request:
                body = unique(json.dumps(request["body"], ensure_ascii=False)).encode()
                headers["Content-Type"] = "application/json"
            elif "form" in request:
                body = urlencode({name: unique(str(value)) for name, value in request["form"].items()}).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            for _page in range(1 + request.get("follow_next", 0)):
                with self.client.request(
                    method, path, data=body, headers=headers, allow_redirects=False, catch_response=True, name="op"
                ) as response:
                    ok = 200 <= (response.status_code or 0) < 300
                    if ok:
                        response.success()
                    else:
                        response.failure(f"HTTP {response.status_code}")
                if not ok or not request.get("follow_next"):
                    return
                path = response.json().get("next")
                if not path:
                    return

    def record(request_type, name, response_time, response_length, response=None, exception=None, **_kwargs):
        if not state["measuring"]:
            return
        status = getattr(response, "status_code", 0) or 0
        headers = getattr(response, "headers", None) or {}
        queries = headers.get("X-Safqa-Queries")
        state["samples"].append([response_time, status, int(queries) if queries is not None else None])
        state["last"] = time.perf_counter()
        if (exception or not 200 <= status < 300) and len(state["errors"]) < MAX_ERRORS_KEPT:
            state["errors"].append(f"{status} {exception or ''}".strip())

    environment = Environment(user_classes=[Client])
    environment.events.request.add_listener(record)
    runner = environment.create_local_runner()
    runner.start(spec["users"], spawn_rate=spec["users"])
    gevent.sleep(spec["warmup"])
    state["measuring"] = True
    started = time.perf_counter()
    gevent.sleep(spec["duration"])
    # A slow page under 16 clients may not finish often enough in a short window: keep measuring
    # until there are enough samples for percentiles, within a bound.
    deadline = started + spec.get("max_window", spec["duration"])
    while (
        len(state["samples"]) < spec.get("min_samples", 0)
        and time.perf_counter() < deadline
        and not state.get("exhausted")
    ):
        gevent.sleep(0.1)
    state["measuring"] = False
    window = time.perf_counter() - started
    if state.get("exhausted") and state.get("last", started) > started:
        # The one-time requests ran out inside the window: the rate is over the time they lasted.
        window = state["last"] - started
    runner.quit()
    return {
        "samples": state["samples"],
        "errors": state["errors"],
        "window_s": window,
        "exhausted": bool(state.get("exhausted")),
    }


def main(argv: list[str]) -> int:
    logging.getLogger("locust").setLevel(logging.WARNING)
    spec_path, out_path = Path(argv[1]), Path(argv[2])
    outcome = load(json.loads(spec_path.read_text()))
    out_path.write_text(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
