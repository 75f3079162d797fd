"""/api/v1/me/next-actions/: the signed-in member's suggestions, in the request's language; dismissing one."""

from datetime import timedelta

from django.utils import timezone

from assistant.planning_models import SuggestionDismissal
from pipeline.models import Deal
from tests import factories as f

URL = "/api/v1/me/next-actions/"


def _quiet_deal(world, owner, team, title):
    deal = f.DealFactory(owner=owner, team=team, stage=world.pipeline.s.proposal, title=title)
    Deal.objects.filter(pk=deal.pk).update(created_at=timezone.now() - timedelta(days=30))
    return deal


def test_the_member_gets_their_suggestions_with_reasons_and_actions(client, world):
    mine = _quiet_deal(world, world.rep_a1, world.team_a, "Renewal")
    _quiet_deal(world, world.rep_a2, world.team_a, "صفقة الزميل")
    client.force_login(world.rep_a1)
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.json()
    keys = {row["key"] for row in body}
    assert any(key.startswith(f"cold:{mine.pk}:") for key in keys)
    assert all(row["deal"] in (None, mine.pk, world.a1.deal.pk) for row in body)
    cold = next(row for row in body if row["kind"] == "going_cold")
    assert cold["reason"] == "Nothing logged on \u2068Renewal\u2069 for 30 days."
    assert cold["kind_label"] == "Going cold"
    assert cold["actions"][0] == {
        "kind": "open_deal",
        "label": "Open the deal",
        "url": mine.get_absolute_url(),
        "method": "GET",
    }
    assert set(cold) == {"key", "kind", "kind_label", "reason", "deal", "follow_up", "contact", "company", "actions"}


def test_the_reasons_come_in_arabic_by_default(client, world):
    _quiet_deal(world, world.rep_a1, world.team_a, "تجديد")
    client.force_login(world.rep_a1)
    cold = next(row for row in client.get(URL).json() if row["kind"] == "going_cold")
    assert cold["reason"].startswith("لم يُسجَّل شيء على")
    assert cold["actions"][0]["label"] == "افتح الصفقة"


def test_dismiss_through_the_api(client, world):
    deal = _quiet_deal(world, world.rep_a1, world.team_a, "Renewal")
    client.force_login(world.rep_a1)
    key = next(row["key"] for row in client.get(URL).json() if row["deal"] == deal.pk)
    response = client.post(f"{URL}dismiss/", {"key": key}, content_type="application/json")
    assert response.status_code == 204
    assert key not in {row["key"] for row in client.get(URL).json()}
    assert SuggestionDismissal.objects.filter(user=world.rep_a1, key=key).count() == 1


def test_dismiss_refuses_bad_and_foreign_keys_in_the_error_shape(client, world):
    theirs = _quiet_deal(world, world.rep_b, world.team_b, "Dubai")
    client.force_login(world.rep_a1)
    bad = client.post(f"{URL}dismiss/", {"key": "anything"}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["key"] == ["This is not a suggestion of My day."]
    hidden = client.post(
        f"{URL}dismiss/", {"key": f"nostep:{theirs.pk}:{theirs.stage_id}"}, content_type="application/json"
    )
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "not_found"
    assert not SuggestionDismissal.objects.exists()


def test_signed_out_callers_get_nothing(client, world):
    assert client.get(URL).status_code in (401, 403)


def test_the_schema_documents_the_endpoints(client, world):
    client.force_login(world.rep_a1)
    schema = client.get("/api/schema/?format=json").json()
    assert "/api/v1/me/next-actions/" in schema["paths"]
    assert "/api/v1/me/next-actions/dismiss/" in schema["paths"]
    assert "/api/v1/sales-forecast/" in schema["paths"]


def test_dismiss_honours_an_idempotency_key_and_refuses_unknown_fields(client, world):
    deal = _quiet_deal(world, world.rep_a1, world.team_a, "Renewal")
    client.force_login(world.rep_a1)
    key = next(row["key"] for row in client.get(URL).json() if row["deal"] == deal.pk)
    for _ in range(2):
        response = client.post(
            f"{URL}dismiss/", {"key": key}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="dismiss-1"
        )
        assert response.status_code == 204
    assert SuggestionDismissal.objects.filter(key=key).count() == 1
    unknown = client.post(f"{URL}dismiss/", {"key": key, "until": "never"}, content_type="application/json")
    assert unknown.status_code == 400
    assert "until" in unknown.json()["error"]["fields"]
