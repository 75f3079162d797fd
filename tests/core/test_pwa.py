"""Installable Safqa: the manifest (both languages), the service worker script and the offline page."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse


def _sign_in(client, user):
    client.force_login(user)


def _worker_config(response) -> dict:
    body = response.content.decode()
    match = re.match(r"self\.SAFQA_SW = (\{.*?\});\n", body)
    assert match, body[:200]
    return json.loads(match.group(1))


@pytest.mark.parametrize(
    ("language", "name", "direction"),
    [("ar", "صفقة", "rtl"), ("en", "Safqa", "ltr")],
)
def test_manifest_is_in_the_members_language(client, world, language, name, direction):
    user = world.rep_a1
    user.language = language
    user.save(update_fields=["language"])
    _sign_in(client, user)
    response = client.get(reverse("core:manifest"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(response.content)
    assert manifest["short_name"] == name
    assert manifest["lang"] == language
    assert manifest["dir"] == direction
    assert manifest["start_url"] == reverse("workspace:home")
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#0b5c4b"
    sizes = {icon["sizes"] for icon in manifest["icons"] if icon["type"] == "image/png"}
    assert {"192x192", "512x512"} <= sizes
    assert any(icon["purpose"] == "maskable" for icon in manifest["icons"])
    assert "Cookie" in response["Vary"]


def test_manifest_follows_the_language_cookie_when_signed_out(client, db):
    client.cookies["safqa_language"] = "en"
    manifest = json.loads(client.get(reverse("core:manifest")).content)
    assert manifest["name"] == "Safqa — sales CRM"
    assert manifest["dir"] == "ltr"


def test_pages_link_the_manifest_and_the_shell_script(client, world):
    _sign_in(client, world.rep_a1)
    html = client.get(reverse("workspace:home")).content.decode()
    assert f'<link rel="manifest" href="{reverse("core:manifest")}">' in html
    assert f'data-service-worker="{reverse("core:service_worker")}"' in html


def test_service_worker_is_javascript_served_for_the_whole_site(client, db):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    # A new deployment must reach browsers at once: never served from a cache.
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    config = _worker_config(response)
    assert config["version"]
    assert 'addEventListener("fetch"' in response.content.decode()


def test_service_worker_is_served_with_the_production_storage(client, db, settings, tmp_path):
    """Production (DEBUG=0) names static files through the hashed manifest, which refuses any name it does
    not list: the script must ask it only for real files (it once asked for "" and answered 500)."""
    from core.pwa import SHELL_STATIC

    hashed = {name: name.replace(".", ".0123456789ab.", 1) for name in SHELL_STATIC}
    (tmp_path / "staticfiles.json").write_text(json.dumps({"paths": hashed, "version": "1.1", "hash": "x"}))
    settings.STATIC_ROOT = str(tmp_path)
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}
    }
    response = client.get("/sw.js")
    assert response.status_code == 200
    config = _worker_config(response)
    assert config["staticPrefix"] == settings.STATIC_URL
    assert f"{settings.STATIC_URL}{hashed['css/safqa.css']}" in config["static"]


def test_service_worker_keeps_only_static_files_and_the_offline_pages(client, world):
    """Its cache list holds no signed-in page and no API answer: only static files and /offline/."""
    _sign_in(client, world.rep_a1)
    config = _worker_config(client.get("/sw.js"))
    kept = config["static"] + list(config["offline"].values())
    static_prefix = config["staticPrefix"]
    assert static_prefix.startswith("/static/")
    signed_in_pages = [
        reverse("workspace:home"),
        reverse("crm:contact_list"),
        reverse("crm:company_list"),
        reverse("pipeline:deal_list"),
        reverse("accounts:profile"),
        "/api/",
    ]
    for url in kept:
        assert url.startswith(static_prefix) or url.startswith(reverse("core:offline") + "?lang="), url
        assert not any(url == page or url.startswith("/api/") for page in signed_in_pages), url
    assert "/static/css/safqa.css" in config["static"]
    assert set(config["offline"]) == {"ar", "en"}
    # Every file it pre-caches exists (a missing one would make the install fail).
    for url in config["static"]:
        assert finders.find(url.removeprefix(static_prefix)), url


def test_service_worker_script_never_stores_pages_or_api_answers(client, db):
    """The fetch handler stores only answers under the static prefix (cache.put is called in staticFile only)."""
    source = client.get("/sw.js").content.decode()
    assert source.count("cache.put(request") == 1
    put_in = source[: source.index("cache.put(request")]
    assert put_in.rindex("async function staticFile") > put_in.rindex("async function pageOrOffline")


@pytest.mark.parametrize(
    ("language", "title", "direction"),
    [("ar", "أنت غير متصل", "rtl"), ("en", "You are offline", "ltr")],
)
def test_offline_page_is_translated_and_names_nobody(client, world, language, title, direction):
    _sign_in(client, world.rep_a1)
    response = client.get(reverse("core:offline"), {"lang": language})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert title in html
    # Kept across sign-ins: no member's name, no CSRF token.
    assert world.rep_a1.username not in html
    assert "csrfmiddlewaretoken" not in html and "X-CSRFToken" not in html


def test_offline_page_ignores_an_unknown_language(client, db):
    response = client.get(reverse("core:offline"), {"lang": "xx"})
    assert response.status_code == 200
    assert '<html lang="ar" dir="rtl">' in response.content.decode()


def test_csp_allows_our_worker_and_manifest_only(client, db):
    header = client.get(reverse("core:offline"))["Content-Security-Policy"]
    assert "worker-src 'self'" in header
    assert "manifest-src 'self'" in header


def test_sign_out_clears_the_browsers_caches(client, world):
    _sign_in(client, world.rep_a1)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert '"cache"' in response["Clear-Site-Data"]
    assert '"storage"' in response["Clear-Site-Data"]
