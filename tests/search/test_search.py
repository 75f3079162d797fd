"""The one search (search/?q=): Arabic-aware, any-format phones, visible records only, bounded queries."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories as f

SEARCH = reverse("search:results")
HTMX = {"HTTP_HX_REQUEST": "true"}


def options(response) -> list[str]:
    """The records the combobox offers, as the addresses its options open (the "see all" ones left out)."""
    html = response.content.decode()
    return [
        href
        for option_id, href in re.findall(r'role="option"[^>]*id="([^"]+)" data-href="([^"]+)"', html)
        if not option_id.endswith("-all")
    ]


def page_links(response) -> list[str]:
    """The records the full results page links to."""
    return re.findall(r'<a class="search-record" href="([^"]+)"', response.content.decode())


@pytest.fixture
def osama(world):
    """A contact of rep_a1's team with a name full of hamza and taa marbuta, and a phone."""
    return f.ContactFactory(
        first_name="أُسامة",
        last_name="الزهراني",
        phone_raw="0551234567",
        phone="+966551234567",
        owner=world.rep_a1,
        team=world.team_a,
        company=world.a1.company,
    )


@pytest.mark.parametrize("query", ["اسامه", "أسامة", "أُسَامَةْ", "إسامـــة الزهراني", "اسامة الزهراني"])
def test_arabic_query_with_other_hamza_taa_marbuta_and_diacritics_finds_the_contact(client, world, osama, query):
    client.force_login(world.rep_a1)
    response = client.get(SEARCH, {"q": query}, **HTMX)
    assert response.status_code == 200
    assert options(response) == [osama.get_absolute_url()]


@pytest.mark.parametrize("query", ["٠٥٥١٢٣٤٥٦٧", "٠٥٥ ١٢٣ ٤٥٦٧", "+٩٦٦٥٥١٢٣٤٥٦٧", "00966551234567", "055-123-4567"])
def test_phone_typed_in_any_format_or_with_arabic_indic_digits_finds_the_contact(client, world, osama, query):
    client.force_login(world.rep_a1)
    response = client.get(SEARCH, {"q": query}, **HTMX)
    assert options(response) == [osama.get_absolute_url()]


def test_results_are_grouped_by_kind_with_a_see_all_link_to_the_filtered_list(client, world):
    company = f.CompanyFactory(name="مؤسسة الواحة", owner=world.rep_a1, team=world.team_a)
    contact = f.ContactFactory(first_name="سالم", last_name="الواحة", owner=world.rep_a1, team=world.team_a)
    deal = f.DealFactory(
        title="توريد مكيفات",
        company=company,
        owner=world.rep_a1,
        team=world.team_a,
        stage=world.pipeline.s.lead,
        amount=Decimal("15000"),
    )
    world.rep_a1.digits = "arab"  # the member's own digits, through the one formatter
    world.rep_a1.save(update_fields=["digits"])
    client.force_login(world.rep_a1)
    html = client.get(SEARCH, {"q": "الواحه"}, **HTMX).content.decode()
    # Contacts, then companies, then deals (found through its company's name, as the deal list does).
    positions = [html.index(f'data-href="{record.get_absolute_url()}"') for record in (contact, company, deal)]
    assert positions == sorted(positions)
    assert 'data-href="/contacts/?q=%D8%A7%D9%84%D9%88%D8%A7%D8%AD%D9%87"' in html
    assert 'data-href="/companies/?q=' in html and 'data-href="/deals/?q=' in html
    # The secondary line: the deal's value through the formatter, the company name isolated.
    assert "<bdi>مؤسسة الواحة</bdi>" in html
    assert "١٥٬٠٠٠" in html
    # The live region says how many, in Arabic.
    assert re.search(r'id="global-search-status" hx-swap-oob="innerHTML">[^<]*٣[^<]*<', html)


def test_rep_never_finds_another_teams_records(client, world):
    b = world.b
    for query in (b.contact.first_name, b.company.name, b.deal.title, b.contact.phone):
        client.force_login(world.rep_a1)
        mine = options(client.get(SEARCH, {"q": query}, **HTMX)) + page_links(client.get(SEARCH, {"q": query}))
        assert not {b.contact.get_absolute_url(), b.company.get_absolute_url(), b.deal.get_absolute_url()} & set(mine)
        # The same query finds them for their own rep: the search itself works.
        client.force_login(world.rep_b)
        theirs = options(client.get(SEARCH, {"q": query}, **HTMX))
        assert {b.contact.get_absolute_url(), b.company.get_absolute_url(), b.deal.get_absolute_url()} & set(theirs)


def test_rep_finds_team_customers_but_not_a_teammates_deal(client, world):
    """Visibility is the lists': the team's customers, only one's own deals."""
    client.force_login(world.rep_a1)
    found = options(client.get(SEARCH, {"q": world.a2.company.name}, **HTMX))
    assert world.a2.company.get_absolute_url() in found
    assert world.a2.deal.get_absolute_url() not in found


def _matching(world, count: int, word: str):
    for n in range(count):
        company = f.CompanyFactory(name=f"{word} {n}", owner=world.rep_a1, team=world.team_a)
        f.ContactFactory(first_name=word, last_name=f"{n}", owner=world.rep_a1, team=world.team_a, company=company)
        f.DealFactory(
            title=f"{word} {n}", company=company, owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.lead
        )


@pytest.mark.parametrize("htmx", [True, False], ids=["combobox", "page"])
def test_query_count_does_not_grow_with_the_number_of_matches(client, world, htmx):
    _matching(world, 3, "قليل")
    _matching(world, 30, "كثير")
    client.force_login(world.rep_a1)
    headers = HTMX if htmx else {}
    counts = []
    for word in ("قليل", "كثير"):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(SEARCH, {"q": word}, **headers)
        assert response.status_code == 200
        assert len(options(response) if htmx else page_links(response)) == (9 if word == "قليل" else 15 if htmx else 30)
        counts.append(len(captured))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8, counts


def test_full_page_works_without_javascript_and_links_each_record(client, world, osama):
    client.force_login(world.rep_a1)
    response = client.get(SEARCH, {"q": "اسامه"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<!DOCTYPE html>" in html
    assert page_links(response) == [osama.get_absolute_url()]
    assert '<h2 id="search-contacts">' in html


def test_the_header_of_every_page_holds_the_search_combobox(client, world):
    client.force_login(world.rep_a1)
    html = client.get(reverse("workspace:home")).content.decode()
    assert 'role="combobox"' in html and 'aria-controls="global-search-listbox"' in html
    assert f'action="{SEARCH}"' in html


@pytest.mark.parametrize("query", ["", "   ", "ـــ", "\u200f"])
def test_a_query_with_nothing_to_search_finds_nothing_rather_than_everything(client, world, query):
    client.force_login(world.rep_a1)
    response = client.get(SEARCH, {"q": query}, **HTMX)
    assert response.status_code == 200
    assert options(response) == []


@pytest.mark.parametrize("query", ["x" * 201, "a\x00b"])
def test_bad_query_is_refused_with_a_translated_message_not_a_500(client, world, query):
    client.force_login(world.rep_a1)
    response = client.get(SEARCH, {"q": query})
    assert response.status_code == 400
    assert 'class="field__errors"' in response.content.decode()


def test_english_member_gets_english_results(client, world):
    contact = f.EnglishContactFactory(first_name="Noura", last_name="Smith", owner=world.rep_a2, team=world.team_a)
    client.force_login(world.rep_a2)  # an English-speaking member
    html = client.get(SEARCH, {"q": "noura"}, **HTMX).content.decode()
    assert f'data-href="{contact.get_absolute_url()}"' in html
    assert "See all matching contacts" in html
    assert "1 result." in html


def test_signed_out_visitor_is_sent_to_sign_in(client, world):
    response = client.get(SEARCH, {"q": "a"})
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_signed_out_combobox_sends_the_whole_page_to_sign_in_and_back(client, world):
    """Not the sign-in page inside the list: HTMX follows a plain redirect and would swap it in."""
    response = client.get(SEARCH, {"q": "a"}, HTTP_HX_CURRENT_URL="http://testserver/deals/?stage=2", **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('accounts:login')}?next=/deals/%3Fstage%3D2"


def test_names_starting_with_the_query_come_first(client, world):
    def contact(first, last):
        return f.EnglishContactFactory(first_name=first, last_name=last, owner=world.rep_a1, team=world.team_a)

    inside = contact("Basalim", "Adams")  # A to Z it would be first
    word = contact("Mohammed", "Salim")
    start = contact("Salim", "Zaki")
    client.force_login(world.rep_a1)
    found = options(client.get(SEARCH, {"q": "salim"}, **HTMX))
    assert found == [start.get_absolute_url(), word.get_absolute_url(), inside.get_absolute_url()]
