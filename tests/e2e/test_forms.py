"""Forms people like, in a real browser (390×844 and 1366×800, Arabic and English).

- The company, contact and owner fields are comboboxes: typing an Arabic name without its hamza
  finds the company, another team's company is never offered, the arrow keys and Enter choose,
  and axe finds nothing with the listbox open. A company can be created from the deal form.
- Every form that creates something creates one record for a double click or two clicks 150 ms apart.
- A failed submit moves focus to the error summary, whose links lead to the fields.
"""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, Quota
from crm.models import Activity, Company, Contact, FollowUp
from pipeline.models import Deal
from tests import factories as f
from tests.e2e.conftest import LAPTOP, PHONE, assert_accessible, open_sized_page, screenshot, wait_until


def sign_in(page, user, live_server, language="ar") -> None:
    """A session made on the server (the sign-in page has its own tests), in the member's language."""
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


@pytest.fixture
def viewport_page(browser, live_server, request):
    yield from open_sized_page(browser, live_server, getattr(request, "param", LAPTOP))


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


# Comboboxes -------------------------------------------------------------------------


@pytest.mark.parametrize("viewport_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_company_combobox_finds_an_arabic_name_typed_without_hamza(viewport_page, live_server, world, language):
    page = viewport_page
    rep = world.rep_a1
    ours = f.CompanyFactory(name="مؤسسة الأمل للتجارة", owner=rep, team=world.team_a)
    f.CompanyFactory(name="شركة الأمل دبي", owner=world.rep_b, team=world.team_b)
    sign_in(page, rep, live_server, language)
    page.goto(reverse("crm:contact_create"))
    box = page.locator("#id_company")
    assert box.get_attribute("role") == "combobox"
    assert page.locator("label[for=id_company]").count() == 1
    box.fill("الامل")
    options = page.locator("#id_company-listbox [role=option]")
    options.first.wait_for()
    wait_until(page, "document.querySelector('#id_company').getAttribute('aria-expanded') === 'true'")
    texts = options.all_inner_texts()
    assert "مؤسسة الأمل للتجارة" in texts
    assert not any("دبي" in text for text in texts), texts
    fits(page)
    size = "phone" if page.viewport_size["width"] < 500 else "laptop"
    screenshot(page, f"forms-combobox-{language}-{size}")
    assert_accessible(page, f"contact form, company listbox open ({language}, {size})")

    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == "id_company-listbox-0"
    box.press("Enter")
    assert page.locator("#id_company-select").input_value() == str(ours.pk)
    assert box.input_value() == "مؤسسة الأمل للتجارة"
    assert box.get_attribute("aria-expanded") == "false"
    page.fill("#id_first_name", "ليلى")
    page.locator("form.crm-form button[type=submit], main form button[type=submit].button--primary").first.click()
    wait_until(page, "!location.pathname.endsWith('/new/')")
    assert Contact.objects.get(first_name="ليلى").company == ours


def test_a_company_is_created_from_the_deal_forms_combobox(viewport_page, live_server, world):
    page = viewport_page
    sign_in(page, world.rep_a1, live_server)
    page.goto(reverse("pipeline:deal_create"))
    box = page.locator("#id_company")
    box.fill("شركة الريادة الجديدة")
    create = page.locator("#id_company-listbox .combobox__option--create")
    create.wait_for()
    assert "شركة الريادة الجديدة" in create.inner_text()
    assert_accessible(page, "deal form, create option")
    # Two clicks on the option: one company.
    create.dblclick()
    wait_until(page, "document.querySelector('#id_company-select').value !== ''")
    company = Company.objects.get(name="شركة الريادة الجديدة")
    assert Company.objects.filter(name="شركة الريادة الجديدة").count() == 1
    assert (company.owner, company.team) == (world.rep_a1, world.team_a)
    assert page.locator("#id_company-select").input_value() == str(company.pk)
    page.fill("#id_title", "صفقة بشركة جديدة")
    page.fill("#id_amount", "٢٥٠٠")
    page.get_by_role("button", name="أضف الصفقة").click()
    wait_until(page, "!location.pathname.endsWith('/new/')")
    assert Deal.objects.get(title="صفقة بشركة جديدة").company == company


def test_without_javascript_the_fields_stay_selects(browser, live_server, world):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, world.rep_a1, live_server)
    page.goto(reverse("pipeline:deal_create"))
    assert page.locator("select#id_company").count() == 1
    assert page.locator("select#id_owner option").count() >= 1
    assert "---------" not in page.content()
    context.close()


# Double submission ------------------------------------------------------------------


def _company(page, world):
    page.goto(reverse("crm:company_create"))
    page.fill("#id_name", "شركة النقرتين")
    return "main form button[type=submit].button--primary", lambda: Company.objects.filter(name="شركة النقرتين").count()


def _contact(page, world):
    page.goto(reverse("crm:contact_create"))
    page.fill("#id_first_name", "نقرتان")
    return "main form button[type=submit].button--primary", lambda: Contact.objects.filter(first_name="نقرتان").count()


def _deal(page, world):
    page.goto(reverse("pipeline:deal_create"))
    page.fill("#id_title", "صفقة النقرتين")
    page.fill("#id_amount", "1000")
    return "main form button[type=submit].button--primary", lambda: Deal.objects.filter(title="صفقة النقرتين").count()


def _quick_add(page, world):
    stage = world.pipeline.s.lead
    page.goto(reverse("pipeline:board"))
    form = f"#quick-add-{stage.pk}"
    page.locator(form).locator("xpath=ancestor::details").locator("summary").click()
    page.fill(f"#id_stage-{stage.pk}-title", "إضافة النقرتين")
    page.fill(f"#id_stage-{stage.pk}-amount", "500")
    return f"{form} button[type=submit]", lambda: Deal.objects.filter(title="إضافة النقرتين").count()


def _activity(page, world):
    page.goto(world.a1.contact.get_absolute_url())
    page.fill("#id_activity-body", "مكالمة النقرتين")
    return "#activity-panel form[action$='/activities/new/'] button[type=submit]", (
        lambda: Activity.objects.filter(body="مكالمة النقرتين").count()
    )


def _follow_up(page, world):
    page.goto(world.a1.contact.get_absolute_url())
    page.locator("#activity-panel details").nth(1).locator("summary").click()
    page.fill("#id_follow_up-subject", "متابعة النقرتين")
    return "#activity-panel form[action$='/follow-ups/new/'] button[type=submit]", (
        lambda: FollowUp.objects.filter(subject="متابعة النقرتين").count()
    )


def _target(page, world):
    page.goto(reverse("analytics:quotas"))
    page.select_option("#id_rep", str(world.rep_a1.pk))
    page.fill("#id_target_won_value", "75000")
    page.fill("#id_target_won_deals", "4")
    return "main form button[type=submit]", lambda: Quota.objects.filter(rep=world.rep_a1).count()


def _api_token(page, world):
    page.goto(reverse("accounts:profile"))
    page.fill("form[action$='/tokens/'] input[name=name]", "رمز النقرتين")
    return "form[action$='/tokens/'] button[type=submit]", lambda: ApiToken.objects.filter(name="رمز النقرتين").count()


FORMS = {
    "company": (_company, "rep_a1"),
    "contact": (_contact, "rep_a1"),
    "deal": (_deal, "rep_a1"),
    "quick_add": (_quick_add, "rep_a1"),
    "activity": (_activity, "rep_a1"),
    "follow_up": (_follow_up, "rep_a1"),
    "target": (_target, "manager_a"),
    "api_token": (_api_token, "rep_a1"),
}


@pytest.mark.parametrize("how", ["dblclick", "two_clicks_150ms"])
@pytest.mark.parametrize("form", list(FORMS))
def test_two_rapid_clicks_create_one_record(viewport_page, live_server, world, form, how):
    page = viewport_page
    fill, who = FORMS[form]
    sign_in(page, getattr(world, who), live_server)
    button, count = fill(page, world)
    before = count()
    submit = page.locator(button).first
    if how == "dblclick":
        submit.dblclick()
    else:
        submit.click(no_wait_after=True)
        page.wait_for_timeout(150)
        # A disabled button gets no click from a person either; force sends it as a tap would land.
        submit.click(force=True, no_wait_after=True)
    # The record appears once the first request is answered; a second one would come right after.
    for _ in range(100):
        if count() > before:
            break
        page.wait_for_timeout(100)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    assert count() == before + 1


# Error summary ------------------------------------------------------------------------


@pytest.mark.parametrize("viewport_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_failed_submit_focuses_the_summary_that_links_to_each_field(viewport_page, live_server, world, language):
    page = viewport_page
    sign_in(page, world.rep_a1, live_server, language)
    page.goto(reverse("pipeline:deal_create"))
    page.fill("#id_amount", "مئة")
    page.locator("main form button[type=submit].button--primary").click()
    page.locator("[data-error-summary]").wait_for()
    wait_until(page, "document.activeElement && document.activeElement.matches('[data-error-summary]')")
    links = page.locator("[data-error-summary] a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert "#id_title" in links and "#id_amount" in links
    size = "phone" if page.viewport_size["width"] < 500 else "laptop"
    screenshot(page, f"forms-error-summary-{language}-{size}")
    assert_accessible(page, f"deal form with errors ({language}, {size})")
    fits(page)
    page.locator("[data-error-summary] a[href='#id_amount']").click()
    wait_until(page, "document.activeElement && document.activeElement.id === 'id_amount'")
    assert not Deal.objects.filter(owner=world.rep_a1, title="").exists()


@pytest.mark.parametrize("viewport_page", [PHONE, LAPTOP], ids=["phone", "laptop"], indirect=True)
@pytest.mark.parametrize("language", ["ar", "en"])
def test_quick_add_finds_a_company_beyond_the_recent_ones(viewport_page, live_server, world, language):
    page = viewport_page
    rep = world.rep_a1
    # More companies than the board lists in its quick add; the oldest one is found by typing.
    old = f.CompanyFactory(name="شركة إعمار القديمة", owner=rep, team=world.team_a)
    for number in range(30):
        f.CompanyFactory(name=f"شركة حديثة {number}", owner=rep, team=world.team_a)
    stage = world.pipeline.s.lead
    sign_in(page, rep, live_server, language)
    page.goto(reverse("pipeline:board"))
    form = page.locator(f"#quick-add-{stage.pk}")
    form.locator("xpath=ancestor::details").locator("summary").click()
    page.fill(f"#id_stage-{stage.pk}-title", "صفقة من البحث")
    page.fill(f"#id_stage-{stage.pk}-amount", "900")
    box = page.locator(f"#id_stage-{stage.pk}-company")
    box.fill("اعمار")
    page.locator(f"#id_stage-{stage.pk}-company-listbox [role=option]").first.wait_for()
    size = "phone" if page.viewport_size["width"] < 500 else "laptop"
    # No full-page screenshot here: resizing the board's page for it makes the board apply an inline
    # style, which the CSP refuses (seen on the board alone, reported to its owner).
    assert_accessible(page, f"board quick add, listbox open ({language}, {size})")
    assert page.locator(f"#id_stage-{stage.pk}-company-listbox [role=option]").first.inner_text() == old.name
    box.press("ArrowDown")
    box.press("Enter")
    form.locator("button[type=submit]").click()
    wait_until(
        page,
        f"!!document.querySelector('#stage-{stage.pk}-cards') && document.body.innerText.includes('صفقة من البحث')",
    )
    assert Deal.objects.get(title="صفقة من البحث").company == old
