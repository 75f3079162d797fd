"""Pages that are not ours still work under the Content-Security-Policy: Swagger UI and the Django admin.

The page fixtures fail a test on any CSP violation the browser reports.
"""

from tests.e2e.test_shell import sign_in


def test_swagger_ui_renders_the_api_under_the_policy(page, world):
    sign_in(page, world.rep_a1.username)
    page.goto("/api/docs/")
    # Swagger UI's own start-up script (served as a file) fetched the schema and drew the operations.
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert "Safqa API" in page.locator(".swagger-ui .info").inner_text()


def test_django_admin_pages_work_under_the_policy(page, world):
    world.admin.is_staff = True
    world.admin.is_superuser = True
    world.admin.save(update_fields=["is_staff", "is_superuser"])
    sign_in(page, world.admin.username)
    for path in ["/admin/", "/admin/crm/company/", "/admin/crm/company/add/", "/admin/accounts/user/"]:
        page.goto(path)
        assert page.locator("#content").is_visible(), path
    # The admin's own scripts run (the sidebar toggle is added by nav_sidebar.js).
    page.goto("/admin/crm/company/")
    assert page.locator("#toggle-nav-sidebar").count() == 1
