"""Company and contact pages: visibility, Arabic-aware search, filters, sorting, paging, forms and query budgets."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import Company, Contact
from tests import factories as f

COMPANIES = reverse("crm:company_list")
CONTACTS = reverse("crm:contact_list")


def html_of(response) -> str:
    return response.content.decode()


def link(html: str, attribute: str = "") -> str:
    """The query-string href of the first <a> carrying `attribute`, as a browser would read it."""
    tag = next(tag for tag in re.findall(r"<a [^>]*>", html) if attribute in tag)
    href = re.search(r'href="([^"]*)"', tag).group(1).replace("&amp;", "&")
    assert href.startswith("?") and not href.startswith("??"), href
    return href


def row_names(response) -> list[str]:
    """The record names in a list page's table, in order (the row header of each row)."""
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r'<th scope="row">(.*?)</th>', html_of(response), flags=re.S)
    ]


@pytest.fixture
def signed_in(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def english(world):
    world.rep_a1.language = "en"
    world.rep_a1.save(update_fields=["language"])
    return world


@pytest.fixture
def people(world):
    """Contacts of team A with names that need Arabic-aware matching, and a namesake in team B.

    The names are words no name generator produces, so the world's random contacts never match a search.
    """
    return {
        "arjuwan": services.contact_create(
            by=world.rep_a1,
            first_name="أَرْجُـوان",
            last_name="الطحلبي",
            phone_raw="0501234567",
            email="Arjuwan.T@Example.test",
        ),
        "qantara": services.contact_create(by=world.rep_a1, first_name="قنطرة", last_name="الكوكبي"),
        "mustashfa": services.contact_create(by=world.rep_a2, first_name="مستشفى", last_name="إسطرلاب"),
        "sara": services.contact_create(by=world.rep_a2, first_name="Sara", last_name="Lindqvist"),
        "foreign": services.contact_create(
            by=world.rep_b, first_name="أرجوان", last_name="الغريب", phone_raw="+971501234567"
        ),
    }


# Visibility -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["company_list", "contact_list", "company_create", "contact_create"])
def test_anonymous_visitor_is_sent_to_sign_in(client, db, name):
    response = client.get(reverse(f"crm:{name}"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_other_teams_company_and_contact_answer_404_like_missing_ones(signed_in, world):
    client = signed_in(world.rep_a1)
    for name, record in (("company", world.b.company), ("contact", world.b.contact)):
        assert client.get(reverse(f"crm:{name}_detail", args=[record.pk])).status_code == 404
        assert client.get(reverse(f"crm:{name}_update", args=[record.pk])).status_code == 404
        assert client.post(reverse(f"crm:{name}_update", args=[record.pk]), {"name": "x"}).status_code == 404
        assert client.get(reverse(f"crm:{name}_detail", args=[999999])).status_code == 404


def test_rep_sees_teammates_contact_but_cannot_edit_it(signed_in, world):
    client = signed_in(world.rep_a1)
    contact = world.a2.contact
    detail = client.get(contact.get_absolute_url())
    assert detail.status_code == 200
    assert contact.full_name in html_of(detail)
    assert reverse("crm:contact_update", args=[contact.pk]) not in html_of(detail)

    edit_url = reverse("crm:contact_update", args=[contact.pk])
    assert client.get(edit_url).status_code == 404
    response = client.post(edit_url, {"first_name": "مخترق", "owner": world.rep_a1.pk})
    assert response.status_code == 404
    contact.refresh_from_db()
    assert contact.first_name != "مخترق"


def test_owner_and_manager_get_the_edit_link(signed_in, world):
    contact = world.a2.contact
    for user in (world.rep_a2, world.manager_a, world.admin):
        html = html_of(signed_in(user).get(contact.get_absolute_url()))
        assert reverse("crm:contact_update", args=[contact.pk]) in html, user


def test_lists_never_show_other_teams_records(signed_in, world, people):
    client = signed_in(world.rep_a1)
    companies = html_of(client.get(COMPANIES))
    assert world.a1.company.name in companies and world.a2.company.name in companies
    assert world.b.company.name not in companies

    contacts = html_of(client.get(CONTACTS))
    assert people["sara"].full_name in contacts
    assert world.b.contact.full_name not in contacts
    assert people["foreign"].full_name not in html_of(client.get(CONTACTS, {"q": "الغريب"}))
    assert people["foreign"].full_name not in html_of(client.get(CONTACTS, {"q": "+971501234567"}))


def select_values(html: str, name: str) -> set[str]:
    select = re.search(rf'<select name="{name}".*?</select>', html, flags=re.S).group(0)
    return set(re.findall(r'<option value="([^"]*)"', select)) - {""}


def test_filter_choices_only_offer_what_the_user_may_see(signed_in, world):
    secret = f.TagFactory(name="سري لفريق دبي")
    secret.companies.add(world.b.company)
    vip = f.TagFactory(name="VIP")
    vip.companies.add(world.a1.company)
    html = html_of(signed_in(world.rep_a1).get(COMPANIES))
    assert select_values(html, "tag") == {str(vip.pk)}
    assert select_values(html, "owner") == {str(world.rep_a1.pk), str(world.rep_a2.pk)}
    assert select_values(html, "team") == {str(world.team_a.pk)}
    assert secret.name not in html and world.team_b.name not in html


def test_filtering_by_another_teams_owner_is_refused_not_ignored(signed_in, world):
    response = signed_in(world.rep_a1).get(COMPANIES, {"owner": world.rep_b.pk})
    assert response.status_code == 200
    assert row_names(response) == []
    assert "ليس أحد الخيارات المتاحة" in html_of(response)


# Search ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ارجوان", "arjuwan"),  # bare alef finds hamza and diacritics
        ("أرجـــوان", "arjuwan"),  # tatweel in the query
        ("أَرجوان الطحلبي", "arjuwan"),  # diacritics in the query, full name
        ("قنطره", "qantara"),  # ة = ه
        ("مستشفي", "mustashfa"),  # ى = ي
        ("اسطرلاب", "mustashfa"),  # إ = ا in the last name
        ("sARA", "sara"),  # Latin case
        ("lindqvist", "sara"),
        ("arjuwan.t@example", "arjuwan"),  # email, case-insensitive
        ("0501234567", "arjuwan"),  # local phone
        ("٠٥٠ ١٢٣ ٤٥٦٧", "arjuwan"),  # Arabic-Indic digits with spaces
        ("+966 50 123 4567", "arjuwan"),  # international
        ("00966501234567", "arjuwan"),
    ],
)
def test_contact_search_is_arabic_aware_and_finds_phones_in_any_format(signed_in, world, people, query, expected):
    response = signed_in(world.rep_a1).get(CONTACTS, {"q": query})
    assert row_names(response) == [people[expected].full_name]


def test_company_search_matches_name_website_and_phone_but_not_contact_names(signed_in, world):
    company = services.company_create(
        by=world.rep_a1, name="مؤسسة الرؤية", website="https://ruyah.example.sa", phone_raw="011 234 5678"
    )
    client = signed_in(world.rep_a1)
    for query in ("موسسه الرويه", "RUYAH.example", "٠١١٢٣٤٥٦٧٨", "+966 11 234 5678"):
        assert row_names(client.get(COMPANIES, {"q": query})) == [company.name], query
    assert row_names(client.get(COMPANIES, {"q": world.a1.contact.full_name})) == []


def test_query_of_only_tatweel_searches_nothing_and_lists_everything(signed_in, world):
    response = signed_in(world.rep_a1).get(COMPANIES, {"q": "ـــ"})
    assert len(row_names(response)) == 2


def test_live_search_with_htmx_returns_only_the_results_and_the_count(signed_in, world, people):
    response = signed_in(world.rep_a1).get(CONTACTS, {"q": "قنطره"}, HTTP_HX_REQUEST="true")
    html = html_of(response)
    assert response.status_code == 200
    assert "<html" not in html and "<form" not in html
    assert people["qantara"].full_name in html
    assert 'id="contact-count"' in html and 'hx-swap-oob="innerHTML"' in html
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(signed_in, world):
    response = signed_in(world.rep_a1).get(
        COMPANIES, {"q": "النور"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in html_of(response)


def test_search_box_is_wired_for_live_search(signed_in, world):
    html = html_of(signed_in(world.rep_a1).get(CONTACTS))
    search = re.search(r'<input type="search"[^>]*>', html, flags=re.S).group(0)
    assert f'hx-get="{CONTACTS}"' in search
    assert 'hx-trigger="input changed delay:300ms, search"' in search
    assert 'hx-target="#contact-results"' in search
    assert 'hx-push-url="true"' in search
    assert 'id="contact-results"' in html
    assert '<label for="id_q">' in html


# Filters --------------------------------------------------------------------


def test_company_filters_by_owner_team_tag_and_city(signed_in, world):
    jeddah = f.CompanyFactory(owner=world.rep_a2, team=world.team_a, name="مصنع جدة", city="Jeddah")
    tag = f.TagFactory(name="حكومي")
    jeddah.tags.add(tag)
    client = signed_in(world.manager_a)
    assert set(row_names(client.get(COMPANIES, {"owner": world.rep_a2.pk}))) == {world.a2.company.name, jeddah.name}
    assert row_names(client.get(COMPANIES, {"tag": tag.pk})) == [jeddah.name]
    assert row_names(client.get(COMPANIES, {"city": "jeddah"})) == [jeddah.name]
    assert row_names(signed_in(world.admin).get(COMPANIES, {"team": world.team_b.pk})) == [world.b.company.name]


def test_contact_filters_by_owner_tag_team_and_company_city(signed_in, world, people):
    tag = f.TagFactory(name="VIP")
    people["sara"].tags.add(tag)
    dammam = f.CompanyFactory(owner=world.rep_a1, team=world.team_a, city="الدمام")
    worker = f.ContactFactory(owner=world.rep_a1, team=world.team_a, company=dammam, first_name="خالد")
    client = signed_in(world.rep_a1)
    assert row_names(client.get(CONTACTS, {"tag": tag.pk})) == [people["sara"].full_name]
    assert row_names(client.get(CONTACTS, {"city": "الدمام"})) == [worker.full_name]
    owned_by_a2 = row_names(client.get(CONTACTS, {"owner": world.rep_a2.pk, "o": "name"}))
    assert set(owned_by_a2) == {world.a2.contact.full_name, people["mustashfa"].full_name, people["sara"].full_name}
    admin = signed_in(world.admin)
    assert row_names(admin.get(CONTACTS, {"team": world.team_b.pk, "q": "الغريب"})) == [people["foreign"].full_name]


def test_has_open_deal_counts_open_stages_only_and_never_duplicates_rows(signed_in, world):
    company = world.a1.company
    # A second open deal and a won one on the same company: still one row.
    f.DealFactory(owner=world.rep_a1, team=world.team_a, company=company, stage=world.pipeline.s.proposal)
    won_only = f.CompanyFactory(owner=world.rep_a1, team=world.team_a, name="شركة رابحة")
    f.DealFactory(owner=world.rep_a1, team=world.team_a, company=won_only, stage=world.pipeline.s.won)
    client = signed_in(world.rep_a1)
    assert row_names(client.get(COMPANIES, {"has_open_deal": "true"})) == [company.name]
    without = row_names(client.get(COMPANIES, {"has_open_deal": "false"}))
    assert won_only.name in without and company.name not in without


def test_has_open_deal_only_counts_deals_the_user_may_see(signed_in, world):
    # rep_a1 cannot see rep_a2's deal, so rep_a2's company has no open deal for rep_a1; its manager sees it.
    assert world.a2.company.name not in row_names(signed_in(world.rep_a1).get(COMPANIES, {"has_open_deal": "true"}))
    assert world.a2.company.name in row_names(signed_in(world.manager_a).get(COMPANIES, {"has_open_deal": "true"}))


def test_contact_has_open_deal_filter(signed_in, world, people):
    client = signed_in(world.manager_a)
    with_deal = row_names(client.get(CONTACTS, {"has_open_deal": "true"}))
    assert sorted(with_deal) == sorted([world.a1.contact.full_name, world.a2.contact.full_name])
    assert people["qantara"].full_name in row_names(client.get(CONTACTS, {"has_open_deal": "false"}))


def test_company_list_counts_contacts_and_open_deals(signed_in, world):
    company = world.a1.company
    f.ContactFactory(owner=world.rep_a1, team=world.team_a, company=company)
    f.DealFactory(owner=world.rep_a1, team=world.team_a, company=company, stage=world.pipeline.s.won)
    f.DealFactory(owner=world.rep_a1, team=world.team_a, company=company, stage=world.pipeline.s.proposal)
    html = html_of(signed_in(world.rep_a1).get(COMPANIES, {"q": company.name}))
    cells = re.findall(r'<td class="num"[^>]*>(\d+)</td>', html)
    assert cells == ["2", "2"]  # two contacts; two open deals (the won one does not count)


# Sorting and paging ---------------------------------------------------------


def test_companies_sort_by_name_city_and_update_time(signed_in, world):
    names = {"ب": "Abha", "أ": "Yanbu", "ت": "Makkah"}
    created = {}
    for name, city in names.items():
        created[name] = f.CompanyFactory(owner=world.rep_a1, team=world.team_a, name=f"{name} تجارة", city=city)
    client = signed_in(world.rep_a1)
    query = {"q": "تجارة"}
    assert row_names(client.get(COMPANIES, {**query, "o": "name"})) == ["أ تجارة", "ب تجارة", "ت تجارة"]
    assert row_names(client.get(COMPANIES, {**query, "o": "-name"})) == ["ت تجارة", "ب تجارة", "أ تجارة"]
    assert row_names(client.get(COMPANIES, {**query, "o": "city"})) == ["ب تجارة", "ت تجارة", "أ تجارة"]
    services.company_update(company=created["ب"], by=world.rep_a1, industry="تجزئة")
    assert row_names(client.get(COMPANIES, {**query, "o": "-updated_at"}))[0] == "ب تجارة"


def test_sorted_column_header_has_aria_sort_and_links_to_the_other_direction(signed_in, world):
    client = signed_in(world.rep_a1)
    html = html_of(client.get(COMPANIES, {"o": "-name", "q": "النور", "page": "1"}))
    header = re.search(r'<th scope="col" aria-sort="descending">.*?</th>', html, flags=re.S).group(0)
    assert html.count("aria-sort=") == 1
    href = link(header)
    assert "o=name" in href and "q=" in href and "page=" not in href
    assert row_names(client.get(COMPANIES + href)) == sorted([world.a1.company.name, world.a2.company.name])
    # Without `o` the list is by name, and its header says so.
    default = html_of(client.get(COMPANIES))
    header = re.search(r'<th scope="col" aria-sort="ascending">.*?</th>', default, flags=re.S).group(0)
    assert "o=-name" in link(header)


def test_contacts_sort_by_last_contacted_never_contacted_count_as_oldest(signed_in, world):
    now = timezone.now()
    recent = f.ContactFactory(owner=world.rep_a1, team=world.team_a, first_name="حديث", last_contacted_at=now)
    older = f.ContactFactory(
        owner=world.rep_a1, team=world.team_a, first_name="قديم", last_contacted_at=now - timedelta(days=30)
    )
    client = signed_in(world.rep_a1)
    newest_first = row_names(client.get(CONTACTS, {"o": "-last_contacted_at"}))
    assert newest_first[:2] == [recent.full_name, older.full_name]
    oldest_first = row_names(client.get(CONTACTS, {"o": "last_contacted_at"}))
    assert oldest_first[-2:] == [older.full_name, recent.full_name]
    assert oldest_first[0] != recent.full_name  # never contacted come first


def test_list_pages_25_rows_and_keeps_filters_in_page_links(signed_in, world):
    for n in range(58):
        f.CompanyFactory(owner=world.rep_a1, team=world.team_a, name=f"مورد {n:02d}")
    client = signed_in(world.rep_a1)
    first = client.get(COMPANIES, {"q": "مورد"})
    assert len(row_names(first)) == 25
    html = html_of(first)
    assert "58" in re.search(r'id="company-count"[^>]*>(.*?)</p>', html, flags=re.S).group(1)
    second = client.get(COMPANIES + link(html, 'rel="next"'))
    assert row_names(second) == [f"مورد {n:02d}" for n in range(25, 50)]
    last = client.get(COMPANIES + link(html_of(second), 'rel="next"'))
    assert row_names(last) == [f"مورد {n:02d}" for n in range(50, 58)]
    assert row_names(client.get(COMPANIES + link(html_of(last), 'rel="prev"'))) == row_names(second)
    assert row_names(client.get(COMPANIES, {"q": "مورد", "page": "999"})) == row_names(last)
    assert len(row_names(client.get(COMPANIES, {"q": "مورد", "page": "abc"}))) == 25


def test_empty_states_for_no_records_and_for_no_matches(signed_in, world):
    lonely = f.UserFactory()
    f.MembershipFactory(user=lonely, team=f.TeamFactory())
    client = signed_in(lonely)
    assert reverse("crm:company_create") in html_of(client.get(COMPANIES))
    no_match = html_of(signed_in(world.rep_a1).get(CONTACTS, {"q": "لا يوجد أحد بهذا الاسم"}))
    assert 'class="crm-empty"' in no_match and f'href="{CONTACTS}"' in no_match


# Detail pages ---------------------------------------------------------------


def test_company_page_lists_its_contacts_and_visible_deals(signed_in, world):
    company = world.a1.company
    f.DealFactory(
        owner=world.rep_a1, team=world.team_a, company=company, stage=world.pipeline.s.proposal, title="توريد أجهزة"
    )
    hidden = f.DealFactory(owner=world.rep_a2, team=world.team_a, company=company, title="صفقة الزميل")
    html = html_of(signed_in(world.rep_a1).get(company.get_absolute_url()))
    assert "<h1><bdi>" + company.name + "</bdi></h1>" in html.replace("\n", "")
    assert world.a1.contact.full_name in html
    assert "توريد أجهزة" in html and "10,000.00" in html
    deal = company.deals.get(title="توريد أجهزة")
    assert f'href="{deal.get_absolute_url()}"' in html
    assert hidden.title not in html
    assert 'class="detail"' in html and 'class="detail__main"' in html
    assert f"{reverse('crm:contact_create')}?company={company.pk}" in html


def test_contact_page_shows_preferences_accessibility_and_consent(signed_in, world):
    contact = services.contact_create(
        by=world.rep_a1,
        first_name="نورة",
        preferred_channel="whatsapp",
        preferred_language="ar",
        needs_sign_language=True,
        accessibility_needs="تفضّل المواعيد الصباحية",
        consent_marketing=True,
    )
    html = html_of(signed_in(world.rep_a1).get(contact.get_absolute_url()))
    assert "واتساب" in html
    assert "العربية" in html
    assert "تفضّل المواعيد الصباحية" in html
    assert 'class="crm-consent crm-consent--yes"' in html and 'class="crm-consent crm-consent--no"' in html
    assert world.a1.deal.title not in html  # that deal is of another contact


# Create and edit ------------------------------------------------------------


def company_data(**overrides):
    data = {
        "name": "شركة الأفق",
        "website": "ufuq.example",
        "city": "جدة",
        "country": "SA",
        "phone_raw": "٠١٢ ٦٥٤ ٣٢١٠",
    }
    return {**data, **overrides}


def contact_data(user, **overrides):
    data = {"first_name": "ليلى", "last_name": "القحطاني", "phone_raw": "٠٥٥ ١٢٣ ٤٥٦٧", "owner": user.pk}
    return {**data, **overrides}


def test_rep_creates_a_company_and_lands_on_its_page(signed_in, world):
    client = signed_in(world.rep_a1)
    assert client.get(reverse("crm:company_create")).status_code == 200
    response = client.post(reverse("crm:company_create"), company_data(owner=world.rep_a1.pk))
    company = Company.objects.get(name="شركة الأفق")
    assert response.status_code == 302 and response["Location"] == company.get_absolute_url()
    assert company.phone == "+966126543210"
    assert company.website == "https://ufuq.example"
    assert (company.owner, company.team) == (world.rep_a1, world.team_a)


def test_rep_creates_a_contact_at_a_company_from_its_page(signed_in, world):
    client = signed_in(world.rep_a1)
    company = world.a1.company
    form = html_of(client.get(reverse("crm:contact_create"), {"company": company.pk}))
    assert f'<option value="{company.pk}" selected>' in form
    assert world.b.company.name not in form  # another team's company is not offered
    tag = f.TagFactory(name="مهم")
    data = contact_data(world.rep_a1, company=company.pk, email="Laila@Example.test", tags=[tag.pk])
    response = client.post(reverse("crm:contact_create"), {**data, "needs_large_print": "on"})
    contact = Contact.objects.get(first_name="ليلى")
    assert response["Location"] == contact.get_absolute_url()
    assert contact.phone == "+966551234567" and contact.phone_raw == "٠٥٥ ١٢٣ ٤٥٦٧"
    assert contact.email == "laila@example.test"
    assert contact.company == company and contact.team == world.team_a
    assert contact.needs_large_print and list(contact.tags.all()) == [tag]


def test_owner_edits_a_contact_and_a_consent_change_is_dated(signed_in, world):
    contact = world.a1.contact
    assert contact.consent_updated_at is None
    client = signed_in(world.rep_a1)
    form = html_of(client.get(reverse("crm:contact_update", args=[contact.pk])))
    assert "<fieldset" in form and "<legend>" in form
    data = contact_data(world.rep_a1, first_name="سلمان", company=contact.company_id, consent_marketing="on")
    response = client.post(reverse("crm:contact_update", args=[contact.pk]), data)
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "سلمان" and contact.consent_marketing
    assert contact.consent_updated_at is not None


def test_manager_reassigns_a_company_within_the_team(signed_in, world):
    company = world.a1.company
    data = company_data(name=company.name, owner=world.rep_a2.pk)
    response = signed_in(world.manager_a).post(reverse("crm:company_update", args=[company.pk]), data)
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.owner == world.rep_a2


def test_rep_cannot_hand_a_record_to_a_colleague(signed_in, world):
    client = signed_in(world.rep_a1)
    response = client.post(reverse("crm:company_create"), company_data(owner=world.rep_a2.pk))
    assert response.status_code == 400
    assert not Company.objects.filter(name="شركة الأفق").exists()
    company = world.a1.company
    response = client.post(reverse("crm:company_update", args=[company.pk]), company_data(owner=world.rep_a2.pk))
    assert response.status_code == 400
    company.refresh_from_db()
    assert company.owner == world.rep_a1


def test_contact_cannot_join_a_company_of_another_team(signed_in, world):
    data = contact_data(world.rep_a1, company=world.b.company.pk)
    response = signed_in(world.rep_a1).post(reverse("crm:contact_create"), data)
    assert response.status_code == 400
    assert not Contact.objects.filter(first_name="ليلى").exists()


@pytest.mark.parametrize(
    ("overrides", "field", "arabic", "english"),
    [
        ({"first_name": ""}, "first_name", "هذا الحقل مطلوب", "This field is required."),
        ({"email": "not-an-email"}, "email", "عنوان بريد إلكتروني صحيح", "Enter a valid email address."),
        ({"phone_raw": "12345"}, "phone_raw", "ليس رقم هاتف صحيحاً", "is not a valid phone number"),
    ],
)
def test_bad_contact_input_is_refused_in_the_users_language_and_nothing_is_saved(
    signed_in, world, overrides, field, arabic, english
):
    before = Contact.objects.count()
    client = signed_in(world.rep_a1)
    response = client.post(reverse("crm:contact_create"), contact_data(world.rep_a1, **overrides))
    html = html_of(response)
    assert response.status_code == 400
    assert arabic in html
    assert f'id="id_{field}_error"' in html and 'aria-invalid="true"' in html
    assert Contact.objects.count() == before

    world.rep_a1.language = "en"
    world.rep_a1.save(update_fields=["language"])
    english_html = html_of(client.post(reverse("crm:contact_create"), contact_data(world.rep_a1, **overrides)))
    assert english in english_html
    assert Contact.objects.count() == before


def test_bad_edit_changes_nothing(signed_in, world):
    contact = world.a1.contact
    url = reverse("crm:contact_update", args=[contact.pk])
    response = signed_in(world.rep_a1).post(url, contact_data(world.rep_a1, first_name="جديد", phone_raw="abc"))
    assert response.status_code == 400
    assert "ليس رقم هاتف صحيحاً" in html_of(response)
    contact.refresh_from_db()
    assert contact.first_name != "جديد"


@pytest.mark.parametrize("country", ["Saudi", "sa", "ZZ"])
def test_bad_country_is_refused_and_nothing_is_saved(signed_in, world, country):
    response = signed_in(world.rep_a1).post(reverse("crm:company_create"), company_data(country=country))
    assert response.status_code == 400
    assert "ليس أحد الخيارات المتاحة" in html_of(response)
    assert not Company.objects.filter(name="شركة الأفق").exists()


def test_bad_company_input_gets_english_messages_for_an_english_user(signed_in, english):
    world = english
    client = signed_in(world.rep_a1)
    response = client.post(reverse("crm:company_create"), company_data(name="", country="XX", phone_raw="99"))
    html = html_of(response)
    assert response.status_code == 400
    assert "This field is required." in html
    assert "is not one of the available choices" in html
    assert "is not a valid phone number" in html
    assert '<html lang="en" dir="ltr">' in html
    assert Company.objects.count() == 3


def test_form_offers_owners_the_user_may_assign(signed_in, world):
    rep_form = html_of(signed_in(world.rep_a1).get(reverse("crm:company_create")))
    assert select_values(rep_form, "owner") == {str(world.rep_a1.pk)}
    manager_form = html_of(signed_in(world.manager_a).get(reverse("crm:company_create")))
    assert select_values(manager_form, "owner") == {str(u.pk) for u in (world.manager_a, world.rep_a1, world.rep_a2)}
    admin_form = html_of(signed_in(world.admin).get(reverse("crm:company_create")))
    assert str(world.rep_b.pk) in select_values(admin_form, "owner")


# Services behind the pages ----------------------------------------------------


def test_new_contact_joins_its_companys_team_when_the_owner_works_there(world):
    second = f.TeamFactory(name="فريق الشرقية")
    f.MembershipFactory(user=world.rep_a1, team=second)
    company = f.CompanyFactory(owner=world.rep_a1, team=second)
    contact = services.contact_create(by=world.rep_a1, first_name="عمر", company=company)
    assert contact.team == second


def test_update_service_refuses_an_owner_change_the_user_may_not_make(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        services.contact_update(contact=world.a1.contact, by=world.rep_a1, owner=world.rep_a2)
    assert "owner" in error.value.message_dict
    world.a1.contact.refresh_from_db()
    assert world.a1.contact.owner == world.rep_a1


# Query budgets ----------------------------------------------------------------


def _queries(client, url, params=None, **headers) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params or {}, **headers)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.fixture
def crowded(world):
    """60+ companies, contacts and deals in team A, tagged, so per-row queries would show."""
    tag = f.TagFactory(name="موزع")
    company = world.a1.company
    for n in range(62):
        other = f.CompanyFactory(owner=world.rep_a1, team=world.team_a, name=f"موزع {n}")
        other.tags.add(tag)
        contact = f.ContactFactory(owner=world.rep_a1, team=world.team_a, company=company, last_contacted_at=None)
        contact.tags.add(tag)
        f.DealFactory(owner=world.rep_a1, team=world.team_a, company=company, contact=world.a1.contact)
    return world


@pytest.mark.parametrize("url", [COMPANIES, CONTACTS])
def test_list_query_count_does_not_grow_with_rows(signed_in, world, django_assert_max_num_queries, url):
    client = signed_in(world.rep_a1)
    few = _queries(client, url)
    for n in range(62):
        company = f.CompanyFactory(owner=world.rep_a1, team=world.team_a, name=f"موزع {n}")
        f.ContactFactory(owner=world.rep_a2, team=world.team_a, company=company)
        f.DealFactory(owner=world.rep_a1, team=world.team_a, company=company, stage=world.pipeline.s.proposal)
    assert _queries(client, url) == few
    with django_assert_max_num_queries(10):
        client.get(url, {"q": "موزع", "o": "-name", "has_open_deal": "true", "page": "2"})
    with django_assert_max_num_queries(6):
        client.get(url, {"q": "موزع"}, HTTP_HX_REQUEST="true")


def test_detail_query_count_does_not_grow_with_rows(signed_in, crowded, django_assert_max_num_queries):
    world = crowded
    client = signed_in(world.rep_a1)
    for url in (world.a1.company.get_absolute_url(), world.a1.contact.get_absolute_url()):
        # 12 before issue 17, plus one query each for the support cases and the survey answers on the
        # timeline and for the contact's surveys panel.
        with django_assert_max_num_queries(15):
            response = client.get(url)
        assert response.status_code == 200
    html = html_of(client.get(world.a1.company.get_absolute_url()))
    assert html.count("<tr>") > 120  # the contacts and the deals are all there
