"""What a phone downloads for My day (issue 19 item 3): `phone_transfer`.

Headless Chromium (the system's /usr/bin/chromium, driven by Playwright) opens My day on the bench's
gunicorn (production settings) signed in as bench-rep-01, at 390×844 like a phone, twice in the same
browser profile: the first load (empty cache, no service worker: the page, its stylesheet, scripts,
font, icons, the manifest when asked for, the service worker and what it pre-caches on install), then,
once the service worker controls the page, the next load. Counted are the encoded (on-the-wire,
compressed when the server compresses) bytes of every response that came from the network, headers
included, the service worker's own fetches too; responses the service worker answered from its cache
(or that the browser's cache answered) cost nothing and are not counted.

Targets (issue 19): ≤ 300 KB on the first load, ≤ 30 KB on the next.

Static files come as WhiteNoise's brotli copies (the CompressedManifest storage); pages (HTML) as
Django renders them.
"""

import os
import time
from urllib.parse import urlsplit

from bench.results import BenchContext, result

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")  # tests/e2e/conftest.py launches with these too
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
FIRST_LOAD_TARGET_KB = 300.0
NEXT_LOAD_TARGET_KB = 30.0
KB = 1024


def kind_of(path: str, content_type: str) -> str:
    """What a response is, for the notes' breakdown: html, css, js, font, image, manifest, other."""
    content_type = content_type.split(";")[0].strip()
    if path.endswith(".webmanifest") or content_type == "application/manifest+json":
        return "manifest"
    if content_type == "text/html":
        return "html"
    if content_type == "text/css":
        return "css"
    if "javascript" in content_type:
        return "js"
    if content_type.startswith("font/") or path.endswith((".woff2", ".woff", ".ttf")):
        return "font"
    if content_type.startswith("image/"):
        return "image"
    return "other"


def tally(entries: list[dict]) -> dict:
    """Bytes and responses from the network, in total and by kind; entries served from a cache are left out.

    Each entry: {"path", "bytes" (encoded body + headers), "from_cache" (the service worker's or the
    browser's cache answered), "content_type", "encoding"}.
    """
    from_network = [entry for entry in entries if not entry["from_cache"]]
    kinds: dict[str, int] = {}
    for entry in from_network:
        kind = kind_of(entry["path"], entry["content_type"])
        kinds[kind] = kinds.get(kind, 0) + entry["bytes"]
    return {
        "bytes": sum(entry["bytes"] for entry in from_network),
        "responses": len(from_network),
        "cached": len(entries) - len(from_network),
        "kinds": dict(sorted(kinds.items(), key=lambda item: -item[1])),
        "uncompressed": sorted(
            {
                entry["path"]
                for entry in from_network
                if not entry["encoding"]
                and entry["bytes"] > 2 * KB
                and kind_of(entry["path"], entry["content_type"]) in ("html", "css", "js", "manifest")
            }
        ),
    }


def _entry(request) -> dict | None:
    """One finished request as a tally entry (None when it has no response: nothing was downloaded)."""
    response = request.response()
    if response is None:
        return None
    sizes = request.sizes()
    headers = response.headers
    # The browser's own cache (memory or disk) answering: Chromium reports no body received (a negative size).
    from_browser_cache = sizes["responseBodySize"] < 0
    body = sizes["responseBodySize"]
    if body == 0 and not from_browser_cache and headers.get("content-length", "").isdigit():
        body = int(headers["content-length"])  # the service worker's script fetch reports no body size
    return {
        "path": urlsplit(request.url).path,
        "bytes": max(body, 0) + max(sizes["responseHeadersSize"], 0),
        "from_cache": response.from_service_worker or from_browser_cache,
        "content_type": headers.get("content-type", ""),
        "encoding": headers.get("content-encoding", ""),
    }


def measure(base_url: str, cookie: dict, path: str = "/", timeout_s: float = 60.0) -> dict:
    """{"first": tally, "next": tally, "controlled": bool} of two loads of `path` in one phone browser."""
    # Requests a service worker makes (its install's pre-cache, its fetch() of a page) appear in the
    # context's network events only with this switch (Chromium).
    os.environ["PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS"] = "1"
    from playwright.sync_api import sync_playwright

    entries: list[dict] = []

    def finished(request) -> None:
        entry = _entry(request)
        if entry is not None:
            entries.append(entry)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(**PHONE, service_workers="allow")
            context.add_cookies([cookie | {"url": base_url}])
            context.on("requestfinished", finished)
            page = context.new_page()
            response = page.goto(base_url + path, wait_until="networkidle", timeout=timeout_s * 1000)
            if response is None or response.status != 200:
                raise RuntimeError(f"{path} answered {response and response.status} in the browser")
            # The first load lasts until the service worker has installed (pre-cached the shell) and
            # controls the page; clients.claim() takes the open page over.
            page.wait_for_function(
                "navigator.serviceWorker.getRegistration().then((r) => !!(r && r.active && "
                "r.active.state === 'activated'))",
                timeout=timeout_s * 1000,
            )
            deadline = time.monotonic() + 10
            while not page.evaluate("navigator.serviceWorker.controller !== null") and time.monotonic() < deadline:
                time.sleep(0.1)
            page.wait_for_load_state("networkidle")
            first = tally(entries)
            entries.clear()
            response = page.goto(base_url + path, wait_until="networkidle", timeout=timeout_s * 1000)
            if response is None or response.status != 200:
                raise RuntimeError(f"{path} answered {response and response.status} on the next load")
            controlled = page.evaluate("navigator.serviceWorker.controller !== null")
            second = tally(entries)
            context.remove_listener("requestfinished", finished)
            context.close()
        finally:
            browser.close()
    return {"first": first, "next": second, "controlled": controlled}


def _describe(figures: dict) -> str:
    kinds = ", ".join(f"{kind} {size / KB:.1f}" for kind, size in figures["kinds"].items())
    text = f"{figures['responses']} responses from the network ({kinds} KB), {figures['cached']} from a cache"
    if figures["uncompressed"]:
        text += f"; sent uncompressed: {', '.join(figures['uncompressed'])}"
    return text


def _size_row(op: str, load: dict, target_kb: float, wall: float, notes: str, errors: int = 0) -> dict:
    """One load's bytes as a result row (a size has no spread: p50 = p95 = p99)."""
    size = load["bytes"] / KB
    return result(
        op,
        unit="KB",
        p50=size,
        p95=size,
        p99=size,
        count=load["responses"],
        wall_s=wall,
        target=f"≤ {target_kb:g} KB",
        met=size <= target_kb,
        errors=errors,
        notes=notes + _describe(load),
    )


def run_phone_transfer(ctx: BenchContext, session_key: str, cookie_name: str) -> list[dict]:
    started = time.perf_counter()
    figures = measure(ctx.base_url, {"name": cookie_name, "value": session_key})
    wall = time.perf_counter() - started
    controlled = figures["controlled"]
    return [
        _size_row(
            "phone_transfer_first",
            figures["first"],
            FIRST_LOAD_TARGET_KB,
            wall,
            "My day at 390×844 as bench-rep-01, empty cache: ",
        ),
        _size_row(
            "phone_transfer_next",
            figures["next"],
            NEXT_LOAD_TARGET_KB,
            wall,
            "the next load, the service worker in control: "
            if controlled
            else "the service worker did not control the page on the next load: ",
            errors=0 if controlled else 1,
        ),
    ]
