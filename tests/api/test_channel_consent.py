"""Per-channel consent through the API: read and written like the other consents, and a change is dated."""

from crm.models import Contact


def test_channel_consent_is_read_and_written_and_dates_the_change(bearer, world):
    api = bearer(world.rep_a1)
    contact = world.a1.contact
    url = f"/api/v1/contacts/{contact.pk}/"
    body = api.get(url).json()
    assert (body["consent_phone"], body["consent_whatsapp"], body["consent_email"]) == (True, False, True)
    response = api.patch(url, {"consent_whatsapp": True, "consent_phone": False}, format="json")
    assert response.status_code == 200, response.content
    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.consent_phone, stored.consent_whatsapp) == (False, True)
    assert stored.consent_updated_at is not None


def test_channel_consent_must_be_a_boolean(bearer, world):
    api = bearer(world.rep_a1)
    url = f"/api/v1/contacts/{world.a1.contact.pk}/"
    response = api.patch(url, {"consent_whatsapp": "perhaps"}, format="json")
    assert response.status_code == 400
    assert "consent_whatsapp" in response.json()["error"]["fields"]
    assert Contact.objects.get(pk=world.a1.contact.pk).consent_whatsapp is False
