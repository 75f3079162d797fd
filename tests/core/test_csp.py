"""Content-Security-Policy: every page carries a strict policy, and no page needs inline script or style."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]

# A <script> element: its attributes and its text.
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
# An event-handler attribute (onclick=, onload=…) inside a tag.
HANDLER = re.compile(r"<[a-zA-Z][^>]*?\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*?\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def inline_code(html: str) -> list[str]:
    """Everything in a page that a policy without 'unsafe-inline' would block."""
    problems = []
    for attributes, body in SCRIPT.findall(html):
        is_data = re.search(r"type\s*=\s*[\"']application/(ld\+)?json[\"']", attributes)
        if not is_data and ("src=" not in attributes or body.strip()):
            problems.append(f"inline script: {attributes} {body[:80]!r}")
    problems += [f"event handler: {m.group(0)[:80]}" for m in HANDLER.finditer(html)]
    problems += [f"style attribute: {m.group(0)[:80]}" for m in STYLE_ATTRIBUTE.finditer(html)]
    problems += [f"style element: {m.group(0)}" for m in STYLE_ELEMENT.finditer(html)]
    return problems


def assert_strict(response, label: str) -> None:
    directives = policy(response)
    assert directives, f"{label}: no Content-Security-Policy header"
    assert directives["default-src"] == ["'self'"], label
    assert directives["script-src"] == ["'self'"], label
    assert directives["style-src"] == ["'self'"], label
    assert directives["object-src"] == ["'none'"], label
    assert directives["frame-ancestors"] == ["'none'"], label
    assert directives["base-uri"] == ["'self'"], label
    assert directives["form-action"] == ["'self'"], label
    assert set(directives["img-src"]) == {"'self'", "data:"}, label
    for values in directives.values():
        assert "'unsafe-inline'" not in values and "'unsafe-eval'" not in values, label


def test_inline_code_finder_sees_what_the_policy_would_block():
    # The finder itself must be able to fail.
    assert inline_code("<script>alert(1)</script>")
    assert inline_code('<button onclick="go()">x</button>')
    assert inline_code('<p style="color:red">x</p>')
    assert inline_code("<style>p{}</style>")
    assert not inline_code('<script src="/static/js/board.js" defer></script>')
    assert not inline_code('<script id="d" type="application/json">{"a": 1}</script>')
    assert not inline_code('<a href="/x" data-onclick="y" class="button">x</a>')


@pytest.fixture
def pages(world):
    from crm.models import Company, Contact
    from pipeline.models import Deal

    # Records every role of the parametrized test may open (rep_a1's own).
    rep = world.rep_a1
    company = Company.objects.filter(owner=rep).first()
    contact = Contact.objects.filter(owner=rep).first()
    deal = Deal.objects.filter(owner=rep).first()
    return [
        reverse("workspace:home"),
        reverse("crm:follow_up_list"),
        reverse("crm:company_list"),
        reverse("crm:company_create"),
        reverse("crm:company_detail", args=[company.pk]),
        reverse("crm:contact_list"),
        reverse("crm:contact_create"),
        reverse("crm:contact_detail", args=[contact.pk]),
        reverse("pipeline:deal_list"),
        reverse("pipeline:deal_create"),
        reverse("pipeline:deal_detail", args=[deal.pk]),
        reverse("pipeline:deal_lost", args=[deal.pk]),
        reverse("pipeline:board"),
        reverse("analytics:dashboard"),
        reverse("analytics:drilldown") + "?figure=won",
        reverse("analytics:quotas"),
        reverse("transfers:import"),
        reverse("transfers:duplicates"),
        reverse("notifications:list"),
        reverse("accounts:profile"),
        reverse("accounts:password_change"),
    ]


@pytest.mark.parametrize("role", ["rep_a1", "manager_a", "admin"])
def test_every_page_has_a_strict_policy_and_no_inline_code(client, world, pages, role):
    client.force_login(getattr(world, role))
    client.cookies["safqa_language"] = "en"
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict(response, url)
        problems = inline_code(response.content.decode())
        assert not problems, f"{url}: {problems}"


def test_sign_in_and_error_pages_have_the_policy(client, db):
    for url, status in [(reverse("accounts:login"), 200), ("/no-such-page/", 404)]:
        response = client.get(url)
        assert response.status_code == status
        assert_strict(response, url)
        assert not inline_code(response.content.decode()), url


def test_api_docs_run_without_inline_script(client, world):
    client.force_login(world.rep_a1)
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    assert_strict(response, "api docs")
    html = response.content.decode()
    assert not inline_code(html), inline_code(html)
    # The page's start-up script is served by the same view as a script file.
    script_src = re.search(r'<script src="([^"]*\?script[^"]*)"', html)
    assert script_src, html
    script = client.get(script_src.group(1).replace("&amp;", "&"))
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]
    assert "SwaggerUIBundle" in script.content.decode()
    # No validator badge: it would load an image from validator.swagger.io (refused by img-src,
    # and it would send the schema's address to a third party).
    assert '"validatorUrl": null' in script.content.decode()


def test_admin_pages_have_the_policy_and_no_inline_script(client, world):
    world.admin.is_staff = True
    world.admin.is_superuser = True
    world.admin.save(update_fields=["is_staff", "is_superuser"])
    client.force_login(world.admin)
    for url in [
        reverse("admin:index"),
        reverse("admin:crm_company_changelist"),
        reverse("admin:crm_company_add"),
        reverse("admin:accounts_user_changelist"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict(response, url)
        scripts = [m for m in inline_code(response.content.decode()) if not m.startswith("style")]
        assert not scripts, f"{url}: {scripts}"


def test_no_template_has_inline_script_handlers_or_styles():
    """Every template a browser renders as a page (emails are exempt: no CSP applies to them)."""
    problems = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        if "email" in path.parts:
            continue
        found = inline_code(path.read_text(encoding="utf-8"))
        problems += [f"{path.relative_to(ROOT)}: {p}" for p in found]
    assert not problems, "\n".join(problems)


def test_htmx_is_configured_to_need_neither_eval_nor_inline_styles(client, db):
    html = client.get(reverse("accounts:login")).content.decode()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'", html)
    assert config, "htmx-config meta missing"
    import json

    values = json.loads(config.group(1))
    assert values["allowEval"] is False
    assert values["includeIndicatorStyles"] is False
    css = (ROOT / "static" / "css" / "safqa.css").read_text(encoding="utf-8")
    assert ".htmx-indicator" in css
