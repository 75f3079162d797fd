"""The app shell on a phone (390×844) and a laptop (1366×800), in Arabic and English, as a rep and a manager.

Every main page: never scrolls sideways, no focusable control outside the viewport, the phone's
header at most 56 px tall, no axe violation. Also the menu (keyboard, Escape, focus) and the
offline page the service worker shows when the network is gone.
"""

import pytest
from django.urls import reverse

from tests.e2e.conftest import LAPTOP, PHONE, assert_accessible, open_sized_page, screenshot, wait_until
from tests.e2e.test_shell import sign_in

# Measured in the page: sideways scrolling, focusable controls outside the viewport (a control inside
# an element that scrolls sideways by design, like the board, counts by that element instead), the header.
MEASURE = """() => {
  const width = window.innerWidth;
  const focusable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';
  const scrollsSideways = (el) => {
    for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (/(auto|scroll)/.test(style.overflowX) && node.scrollWidth > node.clientWidth) return node;
    }
    return null;
  };
  const outside = [];
  for (const el of document.querySelectorAll(focusable)) {
    if (el.closest("dialog:not([open])")) continue;
    const rect = el.getBoundingClientRect();
    if (rect.width <= 1 && rect.height <= 1) continue;  // visually hidden, not a visible control
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const box = (scrollsSideways(el) || el).getBoundingClientRect();
    if (box.left < -1 || box.right > width + 1) {
      outside.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className} "${(el.textContent || el.value || "").trim().slice(0, 40)}" [${Math.round(box.left)}, ${Math.round(box.right)}]`);
    }
  }
  const header = document.querySelector(".site-header");
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: width,
    outside: outside.slice(0, 10),
    headerHeight: header ? header.getBoundingClientRect().height : 0,
  };
}"""


def main_pages(world, user):
    records = world.a1
    return {
        "my-day": reverse("workspace:home"),
        "companies": reverse("crm:company_list"),
        "contacts": reverse("crm:contact_list"),
        "contact": reverse("crm:contact_detail", args=[records.contact.pk]),
        "company": reverse("crm:company_detail", args=[records.company.pk]),
        "follow-ups": reverse("crm:follow_up_list"),
        "deals": reverse("pipeline:deal_list"),
        "deal": reverse("pipeline:deal_detail", args=[records.deal.pk]),
        "board": reverse("pipeline:board"),
        "dashboard": reverse("analytics:dashboard"),
        "targets": reverse("analytics:quotas"),
        "import": reverse("transfers:import"),
        "duplicates": reverse("transfers:duplicates"),
        "notifications": reverse("notifications:list"),
        "profile": reverse("accounts:profile"),
    }


@pytest.fixture
def shell_page(browser, live_server, request):
    yield from open_sized_page(browser, live_server, request.param)


def _set_language(user, language):
    user.language = language
    user.save(update_fields=["language"])


@pytest.mark.parametrize("shell_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("role", ["rep", "manager"])
def test_every_main_page_fits_the_screen_and_is_accessible(shell_page, world, language, role):
    page = shell_page
    user = world.rep_a1 if role == "rep" else world.manager_a
    _set_language(user, language)
    sign_in(page, user.username)
    size = "phone" if page.viewport_size["width"] < 700 else "laptop"
    problems = []
    for name, url in main_pages(world, user).items():
        page.goto(url)
        assert page.get_attribute("html", "lang") == language, url
        found = page.evaluate(MEASURE)
        label = f"{name} ({role}, {language}, {size})"
        screenshot(page, f"shell-{size}-{language}-{role}-{name}")
        if found["scrollWidth"] > found["innerWidth"]:
            problems.append(f"{label}: scrolls sideways ({found['scrollWidth']} > {found['innerWidth']})")
        if found["outside"]:
            problems.append(f"{label}: controls outside the viewport: {found['outside']}")
        if size == "phone" and found["headerHeight"] > 56:
            problems.append(f"{label}: header {found['headerHeight']} px tall")
        try:
            assert_accessible(page, label)
        except AssertionError as error:
            problems.append(str(error)[:2000])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("shell_page", [PHONE], ids=["phone"], indirect=True)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_phone_tab_bar_marks_the_section_of_a_sub_page(shell_page, world, language):
    page = shell_page
    _set_language(world.rep_a1, language)
    sign_in(page, world.rep_a1.username)
    tabs = page.locator("nav.tabbar")
    assert tabs.is_visible()
    assert not page.locator("nav.main-nav").is_visible()
    assert tabs.locator("a:visible, button:visible").count() == 5
    # A contact's page belongs to Customers; a deal's page to Deals.
    page.goto(reverse("crm:contact_detail", args=[world.a1.contact.pk]))
    assert page.locator("nav.tabbar [aria-current=page]").get_attribute("href") == reverse("crm:contact_list")
    page.goto(reverse("pipeline:deal_detail", args=[world.a1.deal.pk]))
    assert page.locator("nav.tabbar [aria-current=page]").get_attribute("href") == reverse("pipeline:board")


@pytest.mark.parametrize("shell_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
def test_menu_opens_by_keyboard_closes_with_escape_and_returns_focus(shell_page, world):
    page = shell_page
    sign_in(page, world.rep_a1.username)
    page.goto(reverse("transfers:duplicates"))
    button = page.locator(".site-header .menu-button")
    assert button.get_attribute("aria-expanded") == "false"
    button.focus()
    page.keyboard.press("Enter")
    menu = page.locator("#app-menu")
    menu.wait_for(state="visible")
    assert button.get_attribute("aria-expanded") == "true"
    # Focus moves into the menu, onto the current section.
    assert page.evaluate("document.activeElement.closest('#app-menu') !== null")
    assert page.evaluate("document.activeElement.getAttribute('aria-current')") == "page"
    hrefs = menu.locator("a").evaluate_all("links => links.map((a) => new URL(a.href).pathname)")
    for url in [
        reverse("analytics:dashboard"),
        reverse("analytics:quotas"),
        reverse("transfers:import"),
        reverse("transfers:duplicates"),
        reverse("notifications:list"),
        reverse("accounts:profile"),
    ]:
        assert url in hrefs
    assert menu.locator("form[action$='/logout/'] button").is_visible()
    assert menu.locator("form.menu-language button").is_visible()
    screenshot(page, f"shell-menu-{page.viewport_size['width']}")
    assert_accessible(page, "menu open")
    page.keyboard.press("Escape")
    menu.wait_for(state="hidden")
    assert button.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.classList.contains('menu-button')")


def test_laptop_navigation_reaches_every_section(page, world):
    page.set_viewport_size(LAPTOP)
    sign_in(page, world.rep_a1.username)
    page.goto(reverse("analytics:quotas"))
    nav = page.locator("nav.main-nav")
    assert nav.is_visible()
    assert not page.locator("nav.tabbar").is_visible()
    hrefs = nav.locator("a").evaluate_all("links => links.map((a) => new URL(a.href).pathname)")
    for url in [
        reverse("workspace:home"),
        reverse("crm:follow_up_list"),
        reverse("crm:contact_list"),
        reverse("crm:company_list"),
        reverse("pipeline:deal_list"),
        reverse("pipeline:board"),
        reverse("analytics:dashboard"),
        reverse("analytics:quotas"),
        reverse("transfers:import"),
        reverse("transfers:duplicates"),
    ]:
        assert url in hrefs, url
    # Notifications: the bell in the header, on every page.
    assert page.locator(".site-header #notification-bell").get_attribute("href") == reverse("notifications:list")
    # One row of section links at 1366 px: every link on the first link's line.
    tops = nav.locator("a").evaluate_all("links => links.map((a) => Math.round(a.getBoundingClientRect().top))")
    assert len(set(tops)) == 1, tops
    assert nav.locator("[aria-current=page]").get_attribute("href") == reverse("analytics:quotas")


def _wait_for_service_worker(page):
    """Wait until the service worker is active and controls the page.

    The worker registers on the sign-in page and may activate while the sign-in's redirect is
    still loading the next page; `clients.claim()` then misses that page in Chromium, and the page
    a member opens next is the first one the worker controls. So: wait for an active worker, and
    if this page was left out, open it again, as the member's next click would.
    """
    wait_until(
        page,
        "(async () => { const r = await navigator.serviceWorker.getRegistration();"
        " return !!(r && r.active && r.active.state === 'activated'); })()",
        timeout=20,
    )
    if not page.evaluate("navigator.serviceWorker.controller !== null"):
        page.reload()
    wait_until(page, "navigator.serviceWorker.controller !== null", timeout=10)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_offline_the_service_worker_shows_the_translated_offline_page(page, world, language):
    _set_language(world.rep_a1, language)
    sign_in(page, world.rep_a1.username)
    # The worker installs (pre-caching the shell) and takes control of the page.
    _wait_for_service_worker(page)
    wait_until(
        page,
        "(async () => { const keys = await caches.keys(); if (!keys.length) return false;"
        " const cache = await caches.open(keys[0]); return (await cache.keys()).length > 5; })()",
        timeout=20,
    )
    kept = page.evaluate(
        "(async () => { const urls = []; for (const key of await caches.keys()) {"
        " const cache = await caches.open(key); for (const r of await cache.keys()) urls.push(new URL(r.url).pathname); }"
        " return urls; })()"
    )
    assert all(
        url.startswith("/static/") or url.startswith("/offline/") or url.startswith("/__safqa") for url in kept
    ), kept
    page.context.set_offline(True)
    try:
        page.goto(reverse("crm:contact_list"))
        title = {"ar": "أنت غير متصل", "en": "You are offline"}[language]
        wait_until(
            page, f"document.querySelector('h1') && document.querySelector('h1').textContent.includes('{title}')"
        )
        assert page.get_attribute("html", "lang") == language
        # Nothing of the member in the page shown offline.
        assert world.rep_a1.username not in page.content()
        screenshot(page, f"offline-{language}")
        assert_accessible(page, f"offline ({language})")
    finally:
        page.context.set_offline(False)


def test_sign_out_empties_the_service_workers_caches(page, world):
    sign_in(page, world.rep_a1.username)
    _wait_for_service_worker(page)
    wait_until(page, "(async () => (await caches.keys()).length > 0)()", timeout=20)
    # A stand-in for anything kept while this member was signed in.
    page.evaluate(
        "(async () => { const keys = await caches.keys();"
        " await (await caches.open(keys[0])).put('/static/kept-for-this-member', new Response('x')); })()"
    )
    page.locator(".site-header .menu-button").click()
    page.locator("#app-menu form[action$='/logout/'] button").click()
    page.wait_for_url("**/accounts/login/**")
    wait_until(
        page,
        "(async () => { for (const key of await caches.keys()) {"
        " if (await (await caches.open(key)).match('/static/kept-for-this-member')) return false; } return true; })()",
        timeout=10,
    )


def test_without_javascript_the_phone_menu_still_opens_and_signs_out(browser, live_server, world):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, world.rep_a1.username)
        assert not page.locator("nav.tabbar button[data-menu-open]").is_visible()
        page.locator("nav.tabbar a[href='#app-menu']").click()
        menu = page.locator("#app-menu")
        menu.wait_for(state="visible")
        assert menu.locator("a[href$='/targets/']").is_visible()
        screenshot(page, "shell-menu-no-js")
        page.locator("#app-menu a.menu-fallback").click()
        menu.wait_for(state="hidden")
        page.locator(".site-header a[href='#app-menu']").click()
        menu.locator("form[action$='/logout/'] button").click()
        page.wait_for_url("**/accounts/login/**")
    finally:
        context.close()
