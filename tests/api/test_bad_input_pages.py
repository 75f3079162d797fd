"""The dashboard's month and /api/v1/me/ with a browser session: a 4xx with a message, never a 500."""

import pytest

# The dashboard's month --------------------------------------------------------------


@pytest.mark.parametrize("month", ["0000-01", "2026-00", "2026-13", "9999-99", "10000-01"])
def test_dashboard_drilldown_with_an_impossible_month_is_a_400_page(world, client, month):
    client.force_login(world.manager_b)  # an English-speaking member
    response = client.get("/dashboard/deals/", {"figure": "forecast", "month": month})
    assert response.status_code == 400
    assert "The month is not valid" in response.content.decode()


def test_dashboard_drilldown_month_message_is_in_arabic_by_default(world, client):
    client.force_login(world.manager_a)
    response = client.get("/dashboard/deals/", {"figure": "forecast", "month": "0000-01"})
    assert response.status_code == 400
    assert "الشهر غير صالح" in response.content.decode()


def test_dashboard_drilldown_with_a_real_month_is_a_200(world, client):
    client.force_login(world.manager_a)
    assert client.get("/dashboard/deals/", {"figure": "forecast", "month": "2026-02"}).status_code == 200


# /me with a browser session -------------------------------------------------------------


def test_me_answers_a_browser_session(world, client):
    client.force_login(world.rep_a1)
    response = client.get("/api/v1/me/")
    assert response.status_code == 200, response.content[:500]
    assert response.json()["username"] == "rep_a1"


def test_me_with_a_session_and_no_csrf_token_cannot_change_anything(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.rep_a1)
    response = client.patch("/api/v1/me/", '{"language": "en"}', content_type="application/json")
    assert response.status_code == 403
    world.rep_a1.refresh_from_db()
    assert world.rep_a1.language != "en"
