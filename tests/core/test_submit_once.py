"""Every form that creates something creates one record for a repeated POST of the same rendered form.

The token is read from the page as a browser would send it back; the second POST
is what a double click or a resend after a slow answer sends.
"""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, Quota
from core.models import FormToken
from crm.models import Activity, Company, Contact, FollowUp
from pipeline.models import Deal

HTMX = {"HTTP_HX_REQUEST": "true"}


def token_on(page, name="form_token") -> str:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]+)"', page.content.decode())
    assert found, f"no {name} on the page"
    return found.group(1)


def post_twice(client, url, data, **extra):
    first = client.post(url, data, **extra)
    second = client.post(url, data, **extra)
    return first, second


@pytest.fixture
def rep(client, world):
    client.force_login(world.rep_a1)
    return world.rep_a1


def test_new_company_posted_twice_creates_one_company(client, world, rep):
    page = client.get(reverse("crm:company_create"))
    data = {"name": "شركة الأمل", "owner": rep.pk, "form_token": token_on(page)}
    first, second = post_twice(client, reverse("crm:company_create"), data)
    company = Company.objects.get(name="شركة الأمل")
    assert Company.objects.filter(name="شركة الأمل").count() == 1
    assert first.status_code == second.status_code == 302
    assert second["Location"] == company.get_absolute_url()


def test_new_contact_posted_twice_creates_one_contact(client, world, rep):
    page = client.get(reverse("crm:contact_create"))
    data = {"first_name": "سارة", "last_name": "المطيري", "owner": rep.pk, "form_token": token_on(page)}
    first, second = post_twice(client, reverse("crm:contact_create"), data)
    assert Contact.objects.filter(first_name="سارة", last_name="المطيري").count() == 1
    assert second["Location"] == first["Location"]


def test_new_deal_posted_twice_creates_one_deal(client, world, rep):
    page = client.get(reverse("pipeline:deal_create"))
    data = {
        "title": "توريد أجهزة",
        "pipeline": world.pipeline.pk,
        "amount": "1500",
        "currency": "SAR",
        "owner": rep.pk,
        "form_token": token_on(page),
    }
    first, second = post_twice(client, reverse("pipeline:deal_create"), data)
    deal = Deal.objects.get(title="توريد أجهزة")
    assert Deal.objects.filter(title="توريد أجهزة").count() == 1
    assert first["Location"] == second["Location"] == deal.get_absolute_url()


@pytest.mark.parametrize("htmx", [False, True])
def test_quick_add_posted_twice_creates_one_deal(client, world, rep, htmx):
    stage = world.pipeline.s.proposal
    prefix = f"stage-{stage.pk}"
    board = client.get(reverse("pipeline:board"))
    data = {
        f"{prefix}-title": "إضافة سريعة مرتين",
        f"{prefix}-amount": "3000",
        f"{prefix}-currency": "SAR",
        f"{prefix}-form_token": token_on(board, f"{prefix}-form_token"),
    }
    extra = HTMX if htmx else {}
    first, second = post_twice(client, reverse("pipeline:deal_quick_add", args=[stage.pk]), data, **extra)
    assert first.status_code == (201 if htmx else 302)
    assert Deal.objects.filter(title="إضافة سريعة مرتين").count() == 1
    deal = Deal.objects.get(title="إضافة سريعة مرتين")
    if htmx:
        assert second["HX-Redirect"] == deal.get_absolute_url()
    else:
        assert second["Location"] == deal.get_absolute_url()


@pytest.mark.parametrize("htmx", [False, True])
def test_logged_activity_posted_twice_is_logged_once(client, world, rep, htmx):
    contact = world.a1.contact
    page = client.get(contact.get_absolute_url())
    data = {
        "subject_type": "contact",
        "subject_id": contact.pk,
        "activity-kind": "call",
        "activity-occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "activity-body": "اتصال مرتين",
        "activity-form_token": token_on(page, "activity-form_token"),
    }
    post_twice(client, reverse("crm:activity_log"), data, **(HTMX if htmx else {}))
    assert Activity.objects.filter(body="اتصال مرتين").count() == 1


@pytest.mark.parametrize("htmx", [False, True])
def test_scheduled_follow_up_posted_twice_is_scheduled_once(client, world, rep, htmx):
    contact = world.a1.contact
    page = client.get(contact.get_absolute_url())
    due = timezone.localtime() + timedelta(days=2)
    data = {
        "subject_type": "contact",
        "subject_id": contact.pk,
        "follow_up-subject": "متابعة مرة واحدة",
        "follow_up-due_at": due.strftime("%Y-%m-%dT%H:%M"),
        "follow_up-assignee": rep.pk,
        "follow_up-form_token": token_on(page, "follow_up-form_token"),
    }
    post_twice(client, reverse("crm:follow_up_create"), data, **(HTMX if htmx else {}))
    assert FollowUp.objects.filter(subject="متابعة مرة واحدة").count() == 1


def test_new_target_posted_twice_is_set_once(client, world):
    client.force_login(world.manager_a)
    page = client.get(reverse("analytics:quotas"))
    data = {
        "rep": world.rep_a1.pk,
        "period_kind": "month",
        "start": timezone.localdate().isoformat(),
        "target_won_value": "50000",
        "currency": "SAR",
        "target_won_deals": "3",
        "target_activities": "40",
        "form_token": token_on(page),
    }
    before = Quota.objects.count()
    first, second = post_twice(client, reverse("analytics:quotas"), data)
    assert first.status_code == second.status_code == 302
    assert Quota.objects.count() == before + 1


def test_api_token_posted_twice_creates_one_token(client, world, rep):
    page = client.get(reverse("accounts:profile"))
    data = {"name": "مزامنة الجوال", "form_token": token_on(page)}
    first, second = post_twice(client, reverse("accounts:api_token_create"), data)
    assert first.status_code == 201
    assert second.status_code == 302 and second["Location"] == reverse("accounts:profile")
    assert ApiToken.objects.filter(user=rep, name="مزامنة الجوال").count() == 1


def test_a_failed_submit_keeps_its_token_for_the_corrected_one(client, world, rep):
    page = client.get(reverse("crm:company_create"))
    token = token_on(page)
    refused = client.post(reverse("crm:company_create"), {"name": "", "owner": rep.pk, "form_token": token})
    assert refused.status_code == 400
    assert token_on(refused) == token
    assert not FormToken.objects.filter(token=token).exists()
    saved = client.post(reverse("crm:company_create"), {"name": "بعد التصحيح", "owner": rep.pk, "form_token": token})
    assert saved.status_code == 302
    assert Company.objects.filter(name="بعد التصحيح").count() == 1


def test_each_rendering_of_a_form_gets_its_own_token(client, world, rep):
    first = token_on(client.get(reverse("crm:company_create")))
    second = token_on(client.get(reverse("crm:company_create")))
    assert first != second


def test_another_members_spent_token_does_not_block_mine(client, world, rep):
    page = client.get(reverse("crm:company_create"))
    token = token_on(page)
    client.post(reverse("crm:company_create"), {"name": "أولى", "owner": rep.pk, "form_token": token})
    client.force_login(world.rep_a2)
    client.post(reverse("crm:company_create"), {"name": "ثانية", "owner": world.rep_a2.pk, "form_token": token})
    assert Company.objects.filter(name__in=["أولى", "ثانية"]).count() == 2


def test_a_malformed_token_is_refused_with_a_message_and_nothing_is_created(client, world, rep):
    response = client.post(reverse("crm:company_create"), {"name": "رمز غريب", "owner": rep.pk, "form_token": "<x>"})
    assert response.status_code == 400
    assert "reload the page" in response.content.decode() or "أعد تحميل" in response.content.decode()
    assert not Company.objects.filter(name="رمز غريب").exists()


def test_tokens_older_than_a_day_are_purged(client, world, rep):
    old = FormToken.objects.create(user=rep, token="x" * 32, result_url="/")
    FormToken.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    page = client.get(reverse("crm:company_create"))
    client.post(reverse("crm:company_create"), {"name": "تنظيف", "owner": rep.pk, "form_token": token_on(page)})
    assert not FormToken.objects.filter(pk=old.pk).exists()
