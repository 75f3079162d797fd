"""Pages go out gzip-compressed to clients that accept it; the API, the exports and the PWA files do not."""

import gzip
import re

from django.urls import reverse

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}

# What differs between two renderings of the same page: the CSP nonce and the masked CSRF token.
_PER_REQUEST = re.compile(r'(nonce="|csrfmiddlewaretoken" value="|csrf[-_]token"? ?[:=] ?"?|X-CSRFToken": ")[^"]+')


def _stable(html: str) -> str:
    return _PER_REQUEST.sub(r"\1…", html)


def test_my_day_comes_back_gzip_and_decompresses_to_the_same_page(client, world):
    client.force_login(world.rep_a1)
    url = reverse("workspace:home")
    plain = client.get(url)
    compressed = client.get(url, **GZIP)
    assert plain.status_code == compressed.status_code == 200
    assert "Content-Encoding" not in plain
    assert compressed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed["Vary"]
    assert compressed["Content-Type"].startswith("text/html")
    assert len(compressed.content) < len(plain.content) / 3
    page = gzip.decompress(compressed.content).decode()
    assert _stable(page) == _stable(plain.content.decode())


def _padding(body: bytes) -> bytes:
    """The file name field of a gzip header (RFC 1952), where Django puts its random padding."""
    assert body[:3] == b"\x1f\x8b\x08" and body[3] & 0x08, "no file name in the gzip header"
    return body[10 : body.index(b"\x00", 10)]


def test_the_gzip_stream_keeps_djangos_breach_padding(client, world):
    # Against BREACH, GZipMiddleware (Django >= 4.2) writes a file name of random length into the
    # gzip header, so a response's length does not reveal how well a secret in it compressed.
    client.force_login(world.rep_a1)
    url = reverse("workspace:home")
    lengths = {len(_padding(client.get(url, **GZIP).content)) for _ in range(8)}
    assert len(lengths) > 1


def test_an_htmx_fragment_is_compressed_too(client, world):
    client.force_login(world.rep_a1)
    response = client.get(reverse("workspace:home"), HTTP_HX_REQUEST="true", **GZIP)
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    gzip.decompress(response.content).decode()


def test_an_api_answer_is_not_compressed_and_keeps_its_strong_etag(client, world):
    from accounts.tokens import api_token_create

    _record, token = api_token_create(user=world.rep_a1, name="tests")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    response = client.get(f"/api/v1/contacts/{world.a1.contact.pk}/", **auth, **GZIP)
    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert response["ETag"] == '"1"'
    # The browsable API is HTML, but it is the API: left alone as well.
    browsable = client.get(f"/api/v1/contacts/{world.a1.contact.pk}/", HTTP_ACCEPT="text/html", **auth, **GZIP)
    assert "Content-Encoding" not in browsable


def test_the_service_worker_and_the_manifest_are_sent_as_they_are(client, world):
    client.force_login(world.rep_a1)
    worker = client.get(reverse("core:service_worker"), **GZIP)
    assert worker.status_code == 200 and "Content-Encoding" not in worker
    assert worker.content.decode().startswith("self.SAFQA_SW = ")
    manifest = client.get(reverse("core:manifest"), **GZIP)
    assert manifest.status_code == 200 and "Content-Encoding" not in manifest
    assert manifest.json()["display"] == "standalone"
    # The offline page the worker pre-caches is a page: compressed, and still whole.
    offline = client.get(reverse("core:offline"), {"lang": "en"}, **GZIP)
    assert offline.status_code == 200 and offline["Content-Encoding"] == "gzip"
    assert "</html>" in gzip.decompress(offline.content).decode()


def test_a_csv_export_still_streams_uncompressed(client, world):
    client.force_login(world.rep_a1)
    response = client.get(reverse("transfers:export", args=["contacts", "csv"]), **GZIP)
    assert response.status_code == 200 and response.streaming
    assert "Content-Encoding" not in response
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff") and len(body.splitlines()) == 1 + 2
