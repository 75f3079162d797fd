"""Oversized bodies answer 413 (API error shape or a translated page), also when sent chunked."""

import json
import os
import select
import socket
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path

import pytest
from django.test.client import FakePayload
from django.urls import reverse

from crm.models import Company, Contact

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def _chunked_environ(body: bytes, *, terminated: bool, content_type: str = "application/json") -> dict:
    """What a de-chunking server (gunicorn) hands Django for a chunked body: no Content-Length."""
    environ = {
        "wsgi.input": BytesIO(body) if terminated else FakePayload(b""),
        "CONTENT_LENGTH": "",
        "CONTENT_TYPE": content_type,
        "HTTP_TRANSFER_ENCODING": "chunked",
    }
    if terminated:
        environ["wsgi.input_terminated"] = True
    return environ


def test_chunked_api_body_over_the_limit_is_413_in_the_error_shape(client, world, settings):
    settings.API_MAX_BODY_BYTES = 1000
    client.force_login(world.rep_a1)
    body = json.dumps({"name": "x" * 2000}).encode()
    before = Company.objects.count()
    response = client.generic(
        "POST",
        "/api/v1/companies/",
        data=b"",
        HTTP_ACCEPT_LANGUAGE="en",
        **_chunked_environ(body, terminated=True),
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "request_too_large", "message": "The request body is too large.", "fields": {}}
    }
    assert Company.objects.count() == before


def test_chunked_api_body_under_the_limit_is_read_whole(client, world):
    client.force_login(world.rep_a1)
    body = json.dumps({"name": "شركة الأفق المجزأة"}).encode()
    response = client.generic(
        "POST",
        "/api/v1/companies/",
        data=b"",
        **_chunked_environ(body, terminated=True),
    )
    # Before the fix the body arrived empty and the name was "required" (400).
    assert response.status_code == 201, response.content
    assert Company.objects.filter(name="شركة الأفق المجزأة").exists()


def test_chunked_form_post_over_the_limit_is_a_translated_413_page(client, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.IMPORT_MAX_BYTES = 0
    client.force_login(world.rep_a1)
    body = b"name=" + b"x" * (2 * MB)
    response = client.generic(
        "POST",
        reverse("crm:company_create"),
        data=b"",
        **_chunked_environ(body, terminated=True, content_type="application/x-www-form-urlencoded"),
    )
    assert response.status_code == 413
    html = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert "card--narrow" in html


def test_chunked_body_on_a_server_that_cannot_read_it_is_411_not_an_empty_body(client, world):
    client.force_login(world.rep_a1)
    response = client.generic(
        "POST",
        "/api/v1/companies/",
        data=b"",
        HTTP_ACCEPT_LANGUAGE="en",
        **_chunked_environ(b"", terminated=False),
    )
    assert response.status_code == 411
    assert response.json()["error"]["code"] == "length_required"
    assert "Content-Length" in response.json()["error"]["message"]


def test_form_post_over_data_upload_max_memory_size_is_413_not_400(client, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.force_login(world.rep_a2)  # English
    before = Contact.objects.count()
    response = client.post(reverse("crm:contact_create"), {"first_name": "x" * 3000, "last_name": "y"})
    assert response.status_code == 413
    html = response.content.decode()
    assert '<html lang="en" dir="ltr">' in html
    assert "larger than Safqa accepts" in html
    assert Contact.objects.count() == before


def test_form_post_over_the_limit_is_413_in_arabic_by_default(client, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.force_login(world.rep_a1)
    response = client.post(reverse("crm:company_create"), {"name": "x" * 3000})
    assert response.status_code == 413
    assert "أكبر مما تقبله صفقة" in response.content.decode()


def _send_chunked(port: int, path: str, total: int, *, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST `total` bytes to 127.0.0.1:port with Transfer-Encoding: chunked; stop sending once answered."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    chunk = b'{"n":"' + b"x" * (64 * 1024 - 8) + b'"}'
    sent = 0
    try:
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:  # answered early: stop sending
                break
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
        else:
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = b""
    try:
        while True:
            part = sock.recv(65536)
            if not part:
                break
            data += part
    except ConnectionResetError:
        pass
    sock.close()
    head_text, _, body = data.partition(b"\r\n\r\n")
    lines = head_text.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    found = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    if found.get("transfer-encoding") == "chunked":
        body = _dechunk(body)
    return status, body


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn_server():
    """Safqa served by gunicorn, as in production (gunicorn de-chunks request bodies)."""
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "API_MAX_BODY_BYTES": str(2_621_440)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"gunicorn did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("gunicorn did not start in 30 s")
    yield port
    process.terminate()
    process.wait(timeout=10)


def test_a_real_3_mb_chunked_api_request_to_gunicorn_answers_413(gunicorn_server):
    status, body = _send_chunked(
        gunicorn_server,
        "/api/v1/contacts/",
        3 * MB,
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
    )
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_too_large"


def test_a_real_3_mb_chunked_form_post_to_gunicorn_answers_413(gunicorn_server, settings):
    # Pages allow room for an import file; past that (IMPORT_MAX_BYTES + 1 MB) the answer is 413.
    total = settings.IMPORT_MAX_BYTES + 2 * MB
    status, body = _send_chunked(
        gunicorn_server, "/import/", total, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 413
    assert '<html lang="ar" dir="rtl">' in body.decode()


def test_a_real_chunked_request_to_the_development_server_answers_411(live_server):
    port = int(live_server.url.rsplit(":", 1)[1])
    status, body = _send_chunked(
        port, "/api/v1/contacts/", 64 * 1024, headers={"Content-Type": "application/json", "Accept-Language": "en"}
    )
    assert status == 411
    assert json.loads(body)["error"]["code"] == "length_required"
