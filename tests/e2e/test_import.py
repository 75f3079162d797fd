"""Import in a real browser, both languages: upload → preview (mapping, errors) → confirm → progress, no axe violations."""

import pytest

from crm.models import Contact
from tests.e2e.conftest import assert_accessible, screenshot
from tests.e2e.test_shell import sign_in
from tests.transfers.conftest import ARABIC_ROWS, csv_bytes


@pytest.mark.parametrize("language", ["ar", "en"])
def test_upload_preview_confirm_progress(page, world, language, eager_celery):
    rep = world.rep_a1
    rep.language = language
    rep.save()
    sign_in(page, rep.username)
    page.goto("/import/")
    assert page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
    assert_accessible(page, f"import upload ({language})")
    screenshot(page, f"import-upload-{language}")

    page.select_option("#id_kind", "contacts")
    page.set_input_files(
        "#id_file",
        files=[{"name": "عملاء.csv", "mimeType": "text/csv", "buffer": csv_bytes(ARABIC_ROWS, encoding="cp1256")}],
    )
    page.click("form button[type=submit].button--primary")
    page.wait_for_url("**/import/*/")
    assert page.locator("#id_col_0").input_value() == "first_name"
    assert page.locator("#id_col_3").input_value() == "phone"
    assert Contact.objects.filter(email="ahmad@example.test").count() == 0
    screenshot(page, f"import-preview-{language}")
    assert_accessible(page, f"import preview ({language})")

    page.click("form[action$='/confirm/'] button")
    page.wait_for_url("**/progress/")
    page.wait_for_selector("#import-progress progress[value='100']")
    assert Contact.objects.filter(email="ahmad@example.test", owner=rep).count() == 1
    assert page.locator("form[action$='/undo/'] button").is_visible()
    screenshot(page, f"import-progress-{language}")
    assert_accessible(page, f"import progress ({language})")


def test_unreadable_file_shows_a_message(page, world):
    sign_in(page, world.rep_a2.username)
    page.goto("/import/")
    page.set_input_files(
        "#id_file", files=[{"name": "x.xlsx", "mimeType": "application/octet-stream", "buffer": b"PK\x03\x04broken"}]
    )
    page.click("form button[type=submit].button--primary")
    page.wait_for_selector(".field__errors")  # the refused upload's answer
    assert page.locator(".field__errors").is_visible()
    assert_accessible(page, "import upload error (en)")


@pytest.mark.postgres
@pytest.mark.parametrize("language", ["ar", "en"])
def test_an_import_the_database_refuses_says_so_in_the_users_language(page, world, language, eager_celery):
    from tests.pg import refuse_inserts, stop_refusing

    rep = world.rep_a1
    rep.language = language
    rep.save()
    sign_in(page, rep.username)
    page.goto("/import/")
    page.set_input_files(
        "#id_file", files=[{"name": "عملاء.csv", "mimeType": "text/csv", "buffer": csv_bytes(ARABIC_ROWS)}]
    )
    page.click("form button[type=submit].button--primary")
    page.wait_for_url("**/import/*/")
    refuse_inserts("crm_contact", column="first_name", value="فاطمة", sqlstate="40P01")
    try:
        page.click("form[action$='/confirm/'] button")
        page.wait_for_url("**/progress/")
    finally:
        stop_refusing("crm_contact")
    alert = page.locator("#import-progress [role=alert]")
    expected = "لم يُستورد أي شيء" if language == "ar" else "Nothing was imported"
    assert expected in alert.inner_text()
    assert Contact.objects.filter(email="ahmad@example.test").count() == 0
    screenshot(page, f"import-refused-{language}")
    assert_accessible(page, f"import refused ({language})")


@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_file_the_worker_refuses_says_why_on_its_page(page, world, language, eager_celery):
    """A file only the worker can judge (here UTF-16 text holding U+0000) ends on its page with the reason."""
    import codecs

    from transfers.models import ImportJob, ImportStatus

    rep = world.rep_a1
    rep.language = language
    rep.save()
    sign_in(page, rep.username)
    page.goto("/import/")
    data = codecs.BOM_UTF16_LE + "name,email\r\nSa\x00ra,sara@example.test\r\n".encode("utf-16-le")
    page.set_input_files("#id_file", files=[{"name": "nul.csv", "mimeType": "text/csv", "buffer": data}])
    page.click("form button[type=submit].button--primary")
    page.wait_for_url("**/import/*/")
    alert = page.locator("#import-reading [role=alert]")
    expected = "محرف NUL" if language == "ar" else "NUL character"
    assert expected in alert.inner_text()
    assert ImportJob.objects.get().status == ImportStatus.REFUSED
    assert not Contact.objects.filter(email="sara@example.test").exists()
    screenshot(page, f"import-refused-file-{language}")
    assert_accessible(page, f"import refused file ({language})")
