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


# Ids in page query parameters: digits Python's int() reads but no id is made of -----------------


@pytest.mark.parametrize("value", ["²", "١", "1\x00", "9" * 30])
def test_new_contact_page_with_a_strange_company_id_ignores_it(world, client, value):
    client.force_login(world.rep_a1)
    response = client.get("/contacts/new/", {"company": value})
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["²", "1\x00", "9" * 30])
def test_merge_page_with_a_strange_id_is_a_404_not_a_500(world, client, value):
    client.force_login(world.rep_a1)
    response = client.get("/merge/contact/", {"ids": [world.a1.contact.pk, value]})
    assert response.status_code == 404


def test_merge_page_with_a_strange_survivor_is_refused_with_a_message(world, client):
    from tests import factories as f

    twin = f.ContactFactory(owner=world.rep_a1, team=world.team_a)
    client.force_login(world.rep_a1)
    ids = [world.a1.contact.pk, twin.pk]
    response = client.post("/merge/contact/", {"ids": ids, "survivor": "²"})
    assert response.status_code == 400
