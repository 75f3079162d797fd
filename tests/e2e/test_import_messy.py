"""Issue 20 in a real browser, both languages: the preview's choice and remarks, the finished job, the duplicates page; axe-clean."""

import pytest

from crm import services as crm_services
from crm.models import Contact
from tests.e2e.conftest import assert_accessible, screenshot
from tests.e2e.test_shell import sign_in
from tests.transfers.conftest import csv_bytes


@pytest.fixture
def run_tasks_here():
    """Celery tasks in-process (as without REDIS_URL), whatever broker the suite found."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


ROWS = [
    ["الاسم الأول", "البريد الإلكتروني", "الجوال"],
    ["هند", "hind@nukhba.test", "0521527244"],  # possible, not in the metadata: kept unverified
    ["ماجد", "majid@nukhba.test", "12345"],  # impossible: skipped and handed back
    ["ريم", "reem@nukhba.test", "0501112299"],
]


@pytest.mark.parametrize("language", ["ar", "en"])
def test_preview_choice_finished_job_and_duplicates_pages(page, world, language, run_tasks_here):
    rep = world.rep_a1
    rep.language = language
    rep.save()
    sign_in(page, rep.username)
    page.goto("/import/")
    page.select_option("#id_kind", "contacts")
    page.set_input_files(
        "#id_file", files=[{"name": "messy.csv", "mimeType": "text/csv", "buffer": csv_bytes(ROWS, encoding="cp1256")}]
    )
    page.click("form button[type=submit].button--primary")
    page.wait_for_url("**/import/*/")
    assert page.locator("#mode-skip").is_checked()
    assert page.locator("#warnings-title").is_visible()
    screenshot(page, f"import-messy-preview-{language}")
    assert_accessible(page, f"import preview with a choice ({language})")

    page.click("form[action$='/confirm/'] button[type=submit]")
    page.wait_for_url("**/progress/")
    page.wait_for_selector("#import-progress progress[value='100']")
    status = page.locator("#import-status").inner_text()
    assert ("اكتمل الاستيراد" if language == "ar" else "Import finished") in status
    assert "Importing" not in status and "جارٍ" not in status
    assert page.locator("a[href$='errors.csv']").is_visible()
    assert Contact.objects.filter(email__in=["hind@nukhba.test", "reem@nukhba.test"]).count() == 2
    screenshot(page, f"import-messy-finished-{language}")
    assert_accessible(page, f"import finished with skipped rows ({language})")

    crm_services.company_create(by=rep, team=world.team_a, name="Ufuq", website="https://www.ufuq.sa")
    crm_services.company_create(by=rep, team=world.team_a, name="Al Ufuq", website="http://ufuq.sa/ar")
    crm_services.contact_create(by=rep, first_name="هند", email="hind2@nukhba.test")
    page.goto("/duplicates/")
    assert page.locator("#dup-companies-title").is_visible()
    assert page.locator("a[href*='/merge/company/']").count() >= 1
    screenshot(page, f"duplicates-{language}")
    assert_accessible(page, f"duplicates with companies ({language})")
