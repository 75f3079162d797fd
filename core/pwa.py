"""Installable Safqa: the web app manifest, the service worker script and the offline page.

All three are views rather than static files: the manifest and the offline page are
translated into the active language, and the worker script is given the hashed URLs of the
static files it pre-caches (ManifestStaticFilesStorage renames them in production).
"""

import hashlib
import json

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

THEME_COLOR = "#0b5c4b"
BACKGROUND_COLOR = "#f5f6f8"

# What the worker keeps for the shell: static files only. Never a signed-in page or an API
# answer, so one member's data can never be served to the next member who signs in.
SHELL_STATIC = [
    "css/safqa.css",
    "js/shell.js",
    "vendor/htmx.min.js",
    "vendor/icons.svg",
    "vendor/fonts/noto-sans-arabic-arabic-400-normal.woff2",
    "vendor/fonts/noto-sans-arabic-arabic-700-normal.woff2",
    "vendor/fonts/noto-sans-arabic-latin-400-normal.woff2",
    "vendor/fonts/noto-sans-arabic-latin-700-normal.woff2",
    "vendor/icons/app-192.png",
    "vendor/icons/app-512.png",
]


def _language_from_query(request):
    """`?lang=ar|en` picks the language explicitly (the worker pre-caches one offline page per language)."""
    lang = request.GET.get("lang")
    return lang if lang in dict(settings.LANGUAGES) else None


@require_GET
def manifest(request):
    """The web app manifest, in the member's language (name, direction, language tag)."""
    icons = [
        {
            "src": static(f"vendor/icons/app-{size}.png"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": "any",
        }
        for size in (192, 512)
    ] + [
        {
            "src": static(f"vendor/icons/app-maskable-{size}.png"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": "maskable",
        }
        for size in (192, 512)
    ]
    data = {
        "id": "/",
        "name": _("Safqa — sales CRM"),
        "short_name": _("Safqa"),
        "description": _("Your follow-ups, customers and deals, on your phone."),
        "lang": translation.get_language(),
        "dir": "rtl" if get_language_bidi() else "ltr",
        "start_url": reverse("workspace:home"),
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": icons,
    }
    response = JsonResponse(data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})
    # The language comes from the member's cookie or profile: a shared cache must not mix them.
    patch_vary_headers(response, ["Cookie", "Accept-Language"])
    return response


def _worker_config():
    offline = reverse("core:offline")
    return {
        "static": [static(path) for path in SHELL_STATIC],
        "offline": {code: f"{offline}?lang={code}" for code, _name in settings.LANGUAGES},
        "defaultLanguage": settings.LANGUAGE_CODE,
        # STATIC_URL itself: static("") would ask the production storage's manifest for a file named "",
        # which it refuses (a 500, and no service worker ever installed).
        "staticPrefix": staticfiles_storage.base_url,
    }


def _worker_source() -> str:
    path = finders.find("js/sw.js")
    if path is None:  # collected files only (finders off in some deployments)
        with staticfiles_storage.open("js/sw.js") as handle:
            return handle.read().decode("utf-8")
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@require_GET
@never_cache
def service_worker(request):
    """static/js/sw.js with its configuration, served from / so its scope is the whole site.

    The cache name carries a hash of the script and of the static URLs, so a deployment that
    changes either makes the browser install a new worker that drops the old caches.
    """
    config = _worker_config()
    source = _worker_source()
    version = hashlib.sha256((json.dumps(config, sort_keys=True) + source).encode()).hexdigest()[:12]
    config["version"] = version
    body = f"self.SAFQA_SW = {json.dumps(config)};\n{source}"
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def offline(request):
    """Shown by the service worker when a page cannot load: no member data, so it is safe to keep."""
    lang = _language_from_query(request)
    if lang:
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
    response = render(request, "core/offline.html")
    if lang:
        response["Content-Language"] = lang
    return response
