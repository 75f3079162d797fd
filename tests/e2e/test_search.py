"""The header's search as a combobox, on a phone (390×844) and a laptop (1366×800), in Arabic and English.

Typing finds the record (HTMX), the arrow keys move through the options (focus stays in the box,
aria-activedescendant names the option), Enter opens the record, Escape closes the list, "/" focuses
the box; axe finds nothing with the listbox open; the live region says how many were found.
"""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests import factories as f
from tests.e2e.conftest import LAPTOP, PHONE, assert_accessible, open_sized_page, screenshot, wait_until

TEXT = {
    # Arabic: the contact and the company (hamza and taa marbuta folded in both); English: the contact.
    "ar": {"query": "اسامه", "announcement": "نتيجتان."},
    "en": {"query": "osama", "announcement": "1 result."},
}


def sign_in(page, user, live_server) -> None:
    """Signed in through a session made on the server, then the results page: the test needs no other page."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    page.goto(reverse("search:results"))


@pytest.fixture
def viewport_page(browser, live_server, request):
    yield from open_sized_page(browser, live_server, request.param)


@pytest.mark.parametrize("viewport_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_type_arrow_to_a_result_and_enter_opens_it(viewport_page, live_server, world, language):
    page = viewport_page
    rep = world.rep_a1
    rep.language = language
    rep.save(update_fields=["language"])
    name = {"ar": ("أُسامة", "الزهراني"), "en": ("Osama", "Zahrani")}[language]
    company = f.CompanyFactory(name="مؤسسة أسامة للتجارة", owner=rep, team=world.team_a)
    contact = f.ContactFactory(
        first_name=name[0], last_name=name[1], owner=rep, team=world.team_a, company=world.a1.company
    )
    # Another team's namesake: never offered.
    f.ContactFactory(first_name=name[0], last_name="Other team", owner=world.rep_b, team=world.team_b)
    size = "phone" if page.viewport_size == PHONE else "laptop"

    sign_in(page, rep, live_server)
    box = page.locator("#global-search-input")
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-expanded") == "false"

    # "/" focuses the box from anywhere on the page but a field.
    page.locator("main").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    wait_until(page, "document.activeElement && document.activeElement.id === 'global-search-input'")

    page.keyboard.type(TEXT[language]["query"], delay=30)
    page.wait_for_selector("#global-search-listbox [role=option]")
    wait_until(page, "document.getElementById('global-search-input').getAttribute('aria-expanded') === 'true'")
    options = page.locator("#global-search-listbox [role=option]")
    hrefs = [options.nth(i).get_attribute("data-href") for i in range(options.count())]
    assert contact.get_absolute_url() in hrefs
    if language == "ar":
        assert company.get_absolute_url() in hrefs  # hamza and taa marbuta folded in company names too
    assert all("Other team" not in options.nth(i).inner_text() for i in range(options.count()))
    wait_until(page, "document.getElementById('global-search-status').textContent.trim() !== ''")
    assert page.locator("#global-search-status").inner_text().strip() == TEXT[language]["announcement"]

    page.keyboard.press("ArrowDown")
    active = box.get_attribute("aria-activedescendant")
    assert active == f"global-search-contacts-{contact.pk}"
    assert page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    assert page.evaluate("document.activeElement.id") == "global-search-input"
    # Down and back up lands on the same option.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert box.get_attribute("aria-activedescendant") == active

    # The phone in the option's second line reads left to right in both languages: "+" leftmost.
    plus, last = page.evaluate(
        """(id) => {
            const text = document.querySelector(`#${id} bdi[dir=ltr]`).firstChild;
            const range = document.createRange();
            const left = (i) => { range.setStart(text, i); range.setEnd(text, i + 1); return range.getBoundingClientRect().left; };
            return [left(0), left(text.length - 1)];
        }""",
        active,
    )
    assert plus < last, (plus, last)

    # The open list fits the screen and nothing scrolls sideways.
    popup = page.locator("[data-global-search-popup]").bounding_box()
    width = page.viewport_size["width"]
    assert popup["x"] >= 0 and popup["x"] + popup["width"] <= width + 1, popup
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"search-open-{language}-{size}")
    assert_accessible(page, f"search with the listbox open ({language}, {size})")

    # Escape closes the list and keeps the query; Down opens it again.
    page.keyboard.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    assert page.locator("[data-global-search-popup]").is_hidden()
    assert box.input_value() == TEXT[language]["query"]
    page.keyboard.press("ArrowDown")
    assert box.get_attribute("aria-expanded") == "true"
    assert box.get_attribute("aria-activedescendant") == active

    page.keyboard.press("Enter")
    page.wait_for_url(f"**{contact.get_absolute_url()}")
    assert page.locator("h1").inner_text().strip().startswith(name[0])


@pytest.mark.parametrize("viewport_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_enter_without_choosing_opens_the_results_page(viewport_page, live_server, world, language):
    page = viewport_page
    rep = world.rep_a1
    rep.language = language
    rep.save(update_fields=["language"])
    contact = f.ContactFactory(first_name="أسامة", last_name="Zahrani", owner=rep, team=world.team_a)
    size = "phone" if page.viewport_size == PHONE else "laptop"

    sign_in(page, rep, live_server)
    page.fill("#global-search-input", "اسامة")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{reverse('search:results')}?q=*")
    page.wait_for_selector("a.search-record")
    assert page.locator("a.search-record").first.get_attribute("href") == contact.get_absolute_url()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    screenshot(page, f"search-page-{language}-{size}")
    assert_accessible(page, f"search results page ({language}, {size})")


@pytest.mark.parametrize("viewport_page", [PHONE], ids=["phone"], indirect=True)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_search_finding_nothing_says_so_and_stays_accessible(viewport_page, live_server, world, language):
    page = viewport_page
    rep = world.rep_a1
    rep.language = language
    rep.save(update_fields=["language"])
    sign_in(page, rep, live_server)
    page.locator("#global-search-input").type("zzqx", delay=30)
    page.wait_for_selector(".global-search__empty")
    wait_until(page, "document.getElementById('global-search-status').textContent.trim() !== ''")
    expected = {"ar": "لا توجد نتائج.", "en": "0 results."}[language]
    assert page.locator("#global-search-status").inner_text().strip() == expected
    assert page.locator("#global-search-input").get_attribute("aria-activedescendant") is None
    page.keyboard.press("ArrowDown")  # nothing to move to: no error, nothing active
    assert page.locator("#global-search-input").get_attribute("aria-activedescendant") is None
    screenshot(page, f"search-nothing-{language}-phone")
    assert_accessible(page, f"search finding nothing ({language})")
