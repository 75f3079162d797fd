"""Call / WhatsApp / Email where the customer is: only consented channels, the preferred one first, and one tap logs it."""

from datetime import timedelta
from urllib.parse import quote

from django.urls import reverse
from django.utils import timezone

from crm.models import Activity, FollowUp, FollowUpStatus
from tests import factories as f


def _actions(html: str) -> list[str]:
    import re

    return re.findall(r'data-log-channel="(\w+)"', html)


def test_contact_page_offers_consented_channels_preferred_first(client, world):
    contact = world.a1.contact
    contact.consent_whatsapp, contact.preferred_channel, contact.preferred_language = True, "whatsapp", "en"
    contact.save()
    client.force_login(world.rep_a1)
    html = client.get(contact.get_absolute_url()).content.decode()
    assert _actions(html) == ["whatsapp", "phone", "email"]
    digits = contact.phone.lstrip("+")
    assert f'href="https://wa.me/{digits}?text={quote(f"Hello {contact.first_name}, ")}"' in html
    assert f'href="tel:{contact.phone}"' in html and f'href="mailto:{contact.email}"' in html


def test_channels_without_consent_are_not_offered(client, world):
    contact = world.a1.contact
    contact.consent_phone, contact.consent_whatsapp, contact.consent_email = False, False, True
    contact.preferred_channel = "phone"
    contact.save()
    client.force_login(world.rep_a1)
    html = client.get(contact.get_absolute_url()).content.decode()
    assert _actions(html) == ["email"]
    assert "wa.me" not in html


def test_whatsapp_greeting_is_in_the_customers_language(client, world):
    contact = world.a1.contact
    contact.consent_whatsapp, contact.preferred_language = True, "ar"
    contact.save()
    client.force_login(world.rep_a2)  # an English-speaking teammate
    html = client.get(contact.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "?text=%D9%85%D8%B1%D8%AD%D8%A8" in html  # "مرحب…" URL-encoded


def test_deal_page_actions_log_on_the_contact_and_the_deal(client, world):
    client.force_login(world.rep_a1)
    html = client.get(world.a1.deal.get_absolute_url()).content.decode()
    assert "phone" in _actions(html)
    response = client.post(
        reverse("crm:quick_log"),
        {
            "subject_type": "contact",
            "subject_id": world.a1.contact.pk,
            "deal": world.a1.deal.pk,
            "channel": "phone",
            "outcome": "no_answer",
            "next_step": "tomorrow",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    activity = Activity.objects.latest("pk")
    assert (activity.kind, activity.outcome, activity.contact, activity.deal) == (
        "call",
        "no_answer",
        world.a1.contact,
        world.a1.deal,
    )
    assert FollowUp.objects.filter(contact=world.a1.contact, deal=world.a1.deal, due_at__gt=timezone.now()).count() == 1


def test_quick_log_from_my_day_finishes_the_follow_up_in_the_same_tap(client, world):
    follow_up = world.a1.follow_up
    client.force_login(world.rep_a1)
    html = client.get(world.a1.contact.get_absolute_url() + f"?follow_up={follow_up.pk}").content.decode()
    assert f'name="follow_up" value="{follow_up.pk}"' in html
    response = client.post(
        reverse("crm:quick_log"),
        {
            "subject_type": "contact",
            "subject_id": world.a1.contact.pk,
            "follow_up": follow_up.pk,
            "channel": "phone",
            "outcome": "connected",
            "next_step": "next_week",
        },
    )
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.DONE
    assert FollowUp.objects.filter(contact=world.a1.contact, status="open").count() == 1


def test_quick_log_refuses_bad_input_and_another_teams_records(client, world):
    client.force_login(world.rep_a1)
    before = Activity.objects.count()
    bad = client.post(
        reverse("crm:quick_log"),
        {"subject_type": "contact", "subject_id": world.a1.contact.pk, "channel": "pigeon"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 422 and "اختر" in bad.content.decode()
    other = client.post(
        reverse("crm:quick_log"), {"subject_type": "contact", "subject_id": world.b.contact.pk, "channel": "phone"}
    )
    assert other.status_code == 404
    assert Activity.objects.count() == before


def test_my_day_item_links_to_customer_and_deal_and_shows_the_phone(client, world):
    follow_up = world.a1.follow_up
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=timezone.now() - timedelta(hours=1), deal=world.a1.deal)
    client.force_login(world.rep_a1)
    html = client.get(reverse("workspace:home")).content.decode()
    assert f'href="{world.a1.contact.get_absolute_url()}?follow_up={follow_up.pk}"' in html
    assert world.a1.deal.get_absolute_url() in html
    assert f'href="tel:{world.a1.contact.phone}"' in html
    assert reverse("crm:follow_up_finish", args=[follow_up.pk]) in html


def test_done_panel_saves_outcome_and_next_step_without_javascript(client, world):
    follow_up = world.a1.follow_up
    client.force_login(world.rep_a1)
    url = reverse("crm:follow_up_finish", args=[follow_up.pk])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"outcome": "", "kind": "call", "next_step": "date"})
    assert bad.status_code == 400
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.OPEN
    date = (timezone.localdate() + timedelta(days=5)).isoformat()
    response = client.post(url, {"outcome": "positive", "kind": "meeting", "next_step": "date", "next_date": date})
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.DONE
    assert Activity.objects.filter(contact=world.a1.contact, kind="meeting", outcome="positive").exists()
    following = FollowUp.objects.get(contact=world.a1.contact, status="open")
    assert timezone.localdate(following.due_at).isoformat() == date


def test_done_panel_for_another_reps_follow_up_is_404(client, world):
    client.force_login(world.rep_a1)
    assert client.get(reverse("crm:follow_up_finish", args=[world.a2.follow_up.pk])).status_code == 404


def test_company_page_offers_a_call_to_its_switchboard(client, world):
    company = f.CompanyFactory(owner=world.rep_a1, team=world.team_a, phone_raw="0112345678", phone="+966112345678")
    client.force_login(world.rep_a1)
    html = client.get(company.get_absolute_url()).content.decode()
    assert _actions(html) == ["phone"]


def test_follow_up_list_done_with_outcome_returns_to_the_list(client, world):
    follow_up = world.a1.follow_up
    client.force_login(world.rep_a1)
    assert (
        f"{reverse('crm:follow_up_finish', args=[follow_up.pk])}?from=list"
        in client.get(reverse("crm:follow_up_list")).content.decode()
    )
    url = reverse("crm:follow_up_finish", args=[follow_up.pk]) + "?from=list"
    response = client.post(url, {"outcome": "connected", "kind": "call", "next_step": "none"})
    assert response.status_code == 302 and response.url == reverse("crm:follow_up_list")
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.DONE


def test_contact_page_states_the_channels_agreed(client, world):
    contact = world.a1.contact
    contact.consent_phone = contact.consent_email = contact.consent_whatsapp = False
    contact.save()
    client.force_login(world.rep_a1)
    html = client.get(contact.get_absolute_url()).content.decode()
    assert "لم يوافق على أي قناة" in html and _actions(html) == []
