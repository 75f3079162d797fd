"""Reads on a real streaming replica: the marked views read there, writes never go there, a client reads its own writes.

The proof is a lag made on purpose: the replica's replay is paused (it stops applying the primary's
changes), a row is committed on the primary, and what each request shows says which server answered
it. The web server is gunicorn started with DATABASE_REPLICA_URLS, exactly as a deployment runs.
"""

import time

import pytest
import requests
from django.test import Client

from accounts.models import ApiToken
from accounts.tokens import api_token_create, api_token_revoke
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]


@pytest.fixture
def member(replica):
    team = f.TeamFactory(name="فريق الرياض")
    user = f.UserFactory(username="rep_replica")
    f.MembershipFactory(user=user, team=team)
    before = f.ContactFactory(owner=user, team=team, first_name="Before", last_name="Lag")
    _record, token = api_token_create(user=user, name="replica test")
    client = Client()
    client.force_login(user)
    user.team, user.before, user.token, user.session_cookie = team, before, token, client.cookies["sessionid"].value
    return user


def _api(member, session=None):
    session = session or requests.Session()
    session.headers.update({"Authorization": f"Bearer {member.token}", "Accept-Language": "en"})
    return session


def _names(response) -> set[str]:
    assert response.status_code == 200, response.text[:500]
    return {row["first_name"] for row in response.json()["results"]}


def test_marked_views_read_from_the_replica_and_others_from_the_primary(replica, member, web_server):
    server = web_server(DATABASE_REPLICA_URLS=replica.url())
    api = _api(member)
    assert _names(api.get(server.base + "/api/v1/contacts/")) == {"Before"}

    replica.pause_replay()
    after = f.ContactFactory(owner=member, team=member.team, first_name="After", last_name="Lag")
    with replica.connection() as on_replica:  # the row is committed, and the replica does not have it yet
        assert on_replica.execute("SELECT count(*) FROM crm_contact WHERE id = %s", [after.pk]).fetchone()[0] == 0

    # Lists (API and page), search and the changes feed answer from the replica: without the new row.
    assert _names(api.get(server.base + "/api/v1/contacts/")) == {"Before"}
    assert _names(api.get(server.base + "/api/v1/contacts/", params={"search": "After"})) == set()
    feed = api.get(server.base + "/api/v1/contacts/changes/")
    assert feed.status_code == 200, feed.text[:500]
    assert [row["first_name"] for row in feed.json()["changes"]] == ["Before"]
    page = requests.get(server.base + "/contacts/", cookies={"sessionid": member.session_cookie})
    assert page.status_code == 200
    assert "Before" in page.text and "After" not in page.text

    # A view not marked (the contact detail) reads from the primary: the new row is there.
    detail = api.get(server.base + f"/api/v1/contacts/{after.pk}/")
    assert detail.status_code == 200 and detail.json()["first_name"] == "After"

    # Who is signed in is always read from the primary: a token revoked a moment ago is refused at once.
    api_token_revoke(token=ApiToken.objects.get(user=member), by=member)
    assert _api(member).get(server.base + "/api/v1/contacts/").status_code == 401

    replica.resume_replay()
    replica.wait_caught_up()
    member.token = api_token_create(user=member, name="again")[1]
    assert _names(_api(member).get(server.base + "/api/v1/contacts/")) == {"Before", "After"}


def test_a_write_through_a_marked_view_goes_to_the_primary_and_that_client_reads_it_back(replica, member, web_server):
    server = web_server(DATABASE_REPLICA_URLS=replica.url(), DATABASE_REPLICA_LAG_GUARD_SECONDS="3")
    replica.pause_replay()

    writer = _api(member)  # keeps cookies, as a browser does
    created = writer.post(server.base + "/api/v1/contacts/", json={"first_name": "Written", "last_name": "Now"})
    # The list URL is a marked view; its POST wrote on the primary (the replica would have refused it).
    assert created.status_code == 201, created.text[:500]
    assert created.json()["first_name"] == "Written"
    assert "safqa_wrote" in writer.cookies

    # Read-your-writes: the writer's next list comes from the primary, with its row...
    assert _names(writer.get(server.base + "/api/v1/contacts/")) == {"Before", "Written"}
    # ...while another client (no guard cookie) is served by the replica, which has not replayed it.
    assert _names(_api(member).get(server.base + "/api/v1/contacts/")) == {"Before"}

    # Once the guard has passed, the writer reads from the replica again (still paused: without the row).
    deadline = time.monotonic() + 10
    while "safqa_wrote" in writer.cookies and time.monotonic() < deadline:
        time.sleep(0.5)
        writer.cookies.clear_expired_cookies()
    assert "safqa_wrote" not in writer.cookies
    assert _names(writer.get(server.base + "/api/v1/contacts/")) == {"Before"}

    replica.resume_replay()
    replica.wait_caught_up()
    assert _names(writer.get(server.base + "/api/v1/contacts/")) == {"Before", "Written"}


def test_a_page_request_that_writes_then_reads_reads_its_own_write(replica, member, web_server):
    """A form POST to a marked page: every query of that request is on the primary (its redirect follows the cookie)."""
    server = web_server(DATABASE_REPLICA_URLS=replica.url())
    replica.pause_replay()
    browser = requests.Session()
    browser.cookies.set("sessionid", member.session_cookie)
    form = browser.get(server.base + "/contacts/new/")
    assert form.status_code == 200
    csrf = browser.cookies.get("csrftoken")
    response = browser.post(
        server.base + "/contacts/new/",
        data={"csrfmiddlewaretoken": csrf, "first_name": "Saved", "last_name": "Form", "owner": member.pk},
        headers={"Referer": server.base + "/contacts/new/"},
    )
    assert response.status_code == 200, response.text[:500]  # followed the redirect after the save
    assert "safqa_wrote" in browser.cookies
    listed = browser.get(server.base + "/contacts/")
    assert "Saved" in listed.text  # from the primary: the replica is paused
    stranger = requests.get(server.base + "/contacts/", cookies={"sessionid": member.session_cookie})
    assert "Saved" not in stranger.text and "Before" in stranger.text


def test_an_unreachable_replica_leaves_the_reads_on_the_primary(replica, member, web_server):
    from tests.scaleout.replica import free_port

    dead = replica.url().replace(f":{replica.port}/", f":{free_port()}/")
    server = web_server(DATABASE_REPLICA_URLS=dead)
    assert _names(_api(member).get(server.base + "/api/v1/contacts/")) == {"Before"}
