"""The one text-cleaning rule (core.text.clean_text) on every write path: web forms, API, bulk upsert, import.

Invisible format characters (bidi controls and marks, zero-width space, BOM) are removed; control
characters (NUL, BEL, ESC, …) and what is not text at all (lone surrogates) are refused with a
translated field error and nothing is saved; multi-line text keeps its newlines and tabs.
"""

import json

import pytest
from django.db import models
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken, Team, User
from accounts.tokens import api_token_create
from core.fields import CleanTextMixin
from core.text import normalize_text
from crm import services
from crm.models import Activity, Company, Contact, FollowUp, Tag
from pipeline.models import Deal, LossReason, Pipeline, Stage
from tests import factories as f
from tests.transfers.conftest import csv_bytes
from transfers import services as transfer_services
from transfers.models import ImportStatus

CONTROL = "a\u0007"
SPOOF = "N\u202egnp.exe"
NUL = "\u0000"
CONTROL_EN = "This field contains control characters."


@pytest.fixture
def bearer(db):
    """bearer(user) → an APIClient signed in with a new personal token of `user`."""

    def make(user, **headers):
        client = APIClient(**headers)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='tests')[1]}")
        return client

    return make


def _contact_form(user, **overrides):
    return {"first_name": "ليلى", "last_name": "القحطاني", "owner": user.pk, **overrides}


# ---- web forms ----


def test_web_form_removes_bidi_controls_and_keeps_note_lines(client, world):
    client.force_login(world.rep_a1)
    data = _contact_form(world.rep_a1, first_name=SPOOF, notes="line 1\r\n\tline 2", job_title="\u200fمدير\u200e")
    response = client.post(reverse("crm:contact_create"), data)
    assert response.status_code == 302
    contact = Contact.objects.get(first_name="Ngnp.exe")
    assert contact.notes == "line 1\n\tline 2"
    assert contact.job_title == "مدير"
    assert contact.name_normalized == normalize_text("Ngnp.exe القحطاني")


@pytest.mark.parametrize("typed", [CONTROL, NUL, "x\x1b[2J"])
def test_web_form_refuses_control_characters_and_saves_nothing(client, world, typed):
    client.force_login(world.rep_a1)
    before = Contact.objects.count()
    response = client.post(reverse("crm:contact_create"), _contact_form(world.rep_a1, last_name=typed))
    assert response.status_code == 400
    assert Contact.objects.count() == before
    assert "last_name" in response.context["form"].errors


def test_web_form_refusal_is_in_the_members_language(client, world):
    world.rep_a2.language = "en"
    world.rep_a2.save()
    client.force_login(world.rep_a2)
    client.cookies["django_language"] = "en"
    response = client.post(reverse("crm:contact_create"), _contact_form(world.rep_a2, last_name=CONTROL))
    assert response.status_code == 400
    assert CONTROL_EN in response.content.decode()


def test_deal_form_removes_bidi_controls_from_the_title(client, world):
    client.force_login(world.rep_a1)
    deal = world.a1.deal
    data = {
        "title": SPOOF,
        "amount": "5000",
        "currency": "SAR",
        "owner": world.rep_a1.pk,
        "version": deal.version,
        "competitor": "\u2067منافس\u2069",
    }
    response = client.post(reverse("pipeline:deal_update", args=[deal.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    deal.refresh_from_db()
    assert (deal.title, deal.competitor) == ("Ngnp.exe", "منافس")


def test_profile_form_cleans_the_members_name(client, world):
    client.force_login(world.rep_a1)
    user = world.rep_a1
    data = {
        "first_name": "\u202eسارة",
        "last_name": CONTROL,
        "email": "rep@example.test",
        "language": "ar",
        "digits": "latn",
        "time_zone": "Asia/Riyadh",
        "reminder_offset_minutes": 15,
    }
    response = client.post(reverse("accounts:profile"), data)
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["last_name"]
    user.refresh_from_db()
    assert user.last_name != CONTROL and user.email != "rep@example.test"
    response = client.post(reverse("accounts:profile"), {**data, "last_name": "\u2066الحربي\u2069"})
    assert response.status_code in (200, 302), response.context["form"].errors
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("سارة", "الحربي")


# ---- API ----


@pytest.mark.parametrize("typed", [CONTROL, NUL, "\ud800"])
def test_api_post_refuses_control_characters_and_lone_surrogates(world, bearer, typed):
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    before = Contact.objects.count()
    # Sent as JSON escapes ("\\ud800"), the only way a lone surrogate can arrive.
    body = json.dumps({"first_name": "Ali", "last_name": typed}, ensure_ascii=True)
    response = api.post("/api/v1/contacts/", body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == ["last_name"]
    assert Contact.objects.count() == before


def test_api_refusal_is_translated(world, bearer):
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    english = api.post("/api/v1/contacts/", {"first_name": CONTROL}, format="json").json()
    assert english["error"]["fields"] == {"first_name": [CONTROL_EN]}
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="ar")
    arabic = api.post("/api/v1/contacts/", {"first_name": CONTROL}, format="json").json()
    assert arabic["error"]["fields"]["first_name"][0] not in ("", CONTROL_EN)


def test_api_post_and_patch_remove_bidi_controls(world, bearer):
    api = bearer(world.rep_a1)
    created = api.post("/api/v1/contacts/", {"first_name": SPOOF, "notes": "a\n\tb"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["first_name"] == "Ngnp.exe" and body["notes"] == "a\n\tb"
    url = f"/api/v1/contacts/{body['id']}/"
    changed = api.patch(url, {"last_name": "\u2066Lee\u2069", "job_title": "Head\u200b of sales"}, format="json")
    assert changed.status_code == 200, changed.json()
    contact = Contact.objects.get(pk=body["id"])
    assert (contact.first_name, contact.last_name, contact.job_title) == ("Ngnp.exe", "Lee", "Head of sales")
    assert contact.name_normalized == "ngnp.exe lee"


def test_api_patch_with_a_control_character_changes_nothing(world, bearer):
    contact = world.a1.contact
    api = bearer(world.rep_a1)
    response = api.patch(f"/api/v1/contacts/{contact.pk}/", {"job_title": "ok", "notes": CONTROL}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["notes"]
    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.job_title, stored.notes, stored.version) == (contact.job_title, contact.notes, contact.version)


@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        ("/api/v1/companies/", {"name": "Acme"}, "city"),
        ("/api/v1/activities/", {"kind": "note"}, "subject"),
        ("/api/v1/follow-ups/", {"subject": "اتصل", "due_at": "2030-01-01T09:00:00Z"}, "notes"),
        ("/api/v1/deals/", {"title": "صفقة", "amount": "10", "currency": "SAR"}, "competitor"),
    ],
)
def test_every_resource_refuses_control_characters_and_cleans_bidi(world, bearer, url, payload, field):
    api = bearer(world.rep_a1)
    if "activities" in url:
        payload = {**payload, "contact": world.a1.contact.pk}
    refused = api.post(url, {**payload, field: CONTROL}, format="json")
    assert refused.status_code == 400 and field in refused.json()["error"]["fields"], refused.json()
    created = api.post(url, {**payload, field: SPOOF}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()[field] == "Ngnp.exe"


# ---- bulk upsert ----


def test_bulk_upsert_cleans_and_refuses_item_by_item(world, bearer):
    items = [
        {"external_source": "erp", "external_id": "T-1", "first_name": SPOOF, "notes": "x\r\ny\tz"},
        {"external_source": "erp", "external_id": "T-2", "first_name": CONTROL},
        {"external_source": "erp", "external_id": "T-3", "first_name": "Nul", "job_title": NUL},
        {"external_source": "erp", "external_id": "T-4", "first_name": "Fine"},
    ]
    response = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en").post(
        "/api/v1/contacts/bulk/", {"items": items}, format="json"
    )
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "error", "created"]
    assert results[1]["errors"] == {"first_name": [CONTROL_EN]}
    assert list(results[2]["errors"]) == ["job_title"]
    stored = Contact.objects.get(external_source="erp", external_id="T-1")
    assert (stored.first_name, stored.notes) == ("Ngnp.exe", "x\ny\tz")
    assert stored.name_normalized == "ngnp.exe"
    assert not Contact.objects.filter(external_id__in=["T-2", "T-3"]).exists()


def test_batch_engine_cleans_every_field_it_writes(world):
    """customers_write_many (imports and bulk) applies the rule itself, whoever calls it."""
    writes = [
        services.Write(fields={"first_name": SPOOF, "last_name": "\u200fالعتيبي"}),
        services.Write(fields={"name": "ok", "city": CONTROL}),
        services.Write(fields={"first_name": "ok", "notes": NUL}),
        services.Write(fields={"first_name": "ok"}, record=world.a1.contact),
    ]
    writes[3].fields["job_title"] = "\u202bمدير"
    results = services.customers_write_many(model=Contact, by=world.rep_a1, writes=writes[:1] + writes[2:])
    created, refused, changed = results
    assert created.first_name == "Ngnp.exe" and created.last_name == "العتيبي"
    assert created.name_normalized == normalize_text("Ngnp.exe العتيبي")
    assert refused.message_dict == {"notes": [refused.message_dict["notes"][0]]}
    assert Contact.objects.get(pk=changed.pk).job_title == "مدير"
    company = services.customers_write_many(model=Company, by=world.rep_a1, writes=[writes[1]])[0]
    assert "city" in company.message_dict


# ---- import ----


def _import(world, rows):
    job = transfer_services.import_create(by=world.rep_a1, kind="contacts", file_name="f.csv", data=csv_bytes(rows))
    transfer_services.import_preview(job=job, by=world.rep_a1)
    job.status = ImportStatus.QUEUED
    job.save()
    return transfer_services.import_run(job_id=job.pk)


def test_import_removes_bidi_controls(world):
    rows = [["First name", "Last name", "Notes"], [SPOOF, "\u2067الحربي\u2069", "سطر\tواحد"]]
    job = _import(world, rows)
    assert job.status == ImportStatus.DONE, job.errors
    contact = Contact.objects.get(first_name="Ngnp.exe")
    assert (contact.last_name, contact.notes) == ("الحربي", "سطر\tواحد")
    assert contact.name_normalized == normalize_text("Ngnp.exe الحربي")


# C1 controls pass the file reader (which refuses a file holding NUL or a C0 control as a
# whole, transfers/readers.py) and reach the rows: the rule refuses them there.
@pytest.mark.parametrize("typed", ["a\x9bb", "x\x85y"])
def test_import_row_with_a_control_character_is_an_error_and_nothing_is_saved(world, typed):
    rows = [["First name", "Last name"], ["سليم", "الدوسري"], ["Ali", typed]]
    before = Contact.objects.count()
    job = _import(world, rows)
    assert job.status != ImportStatus.DONE
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "Last name")]
    assert Contact.objects.count() == before


# ---- every text field a person types goes through the rule ----

# Text Safqa writes itself or that has its own strict validation (choices, codes, keys).
NOT_TYPED = {
    "name_normalized",
    "phone",
    "country",
    "currency",
    "time_zone",
    "language",
    "preferred_language",
    "preferred_channel",
    "kind",
    "outcome",
    "status",
    "source",
    "role",
    "reminder_state",
    "reminder_error",
    "after_sale_checkin_days",
    "prefix",
    "key_hash",
    "password",
    "username",
    "email",
    "period_kind",
    "digits",
}


@pytest.mark.parametrize(
    "model", [Company, Contact, Activity, FollowUp, Tag, Deal, Pipeline, Stage, LossReason, Team, User, ApiToken]
)
def test_every_typed_text_field_applies_the_rule(model):
    missing = [
        field.name
        for field in model._meta.fields
        if isinstance(field, (models.CharField, models.TextField))
        and field.name not in NOT_TYPED
        and not isinstance(field, CleanTextMixin)
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda w: f.TagFactory(), "name"),
        (lambda w: w.team_a, "name"),
        (lambda w: w.pipeline, "name_en"),
        (lambda w: w.pipeline.s.lead, "name"),
        (lambda w: f.LossReasonFactory(), "name"),
        (lambda w: w.a1.activity, "body"),
        (lambda w: w.a1.follow_up, "subject"),
        (lambda w: w.a1.deal, "loss_note"),
        (lambda w: w.a1.company, "website"),
        (lambda w: w.rep_a1, "first_name"),
    ],
)
def test_full_clean_applies_the_rule_to_every_model(world, make, field):
    from django.core.exceptions import ValidationError

    record = make(world)
    setattr(record, field, CONTROL)
    with pytest.raises(ValidationError) as refused:
        record.full_clean()
    assert list(refused.value.message_dict) == [field]
    value = "https://example.test/\u202eexe" if field == "website" else SPOOF
    setattr(record, field, value)
    record.full_clean()
    assert getattr(record, field) == ("https://example.test/exe" if field == "website" else "Ngnp.exe")


def test_api_me_applies_the_rule_to_the_members_name(world, bearer):
    api = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en")
    refused = api.patch("/api/v1/me/", {"first_name": CONTROL}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"first_name": [CONTROL_EN]}
    changed = api.patch("/api/v1/me/", {"last_name": SPOOF}, format="json")
    assert changed.status_code == 200
    world.rep_a1.refresh_from_db()
    assert world.rep_a1.last_name == "Ngnp.exe"


# ---- the Django admin ----


def test_admin_applies_the_rule(client, world):
    world.admin.is_staff = world.admin.is_superuser = True
    world.admin.save()
    client.force_login(world.admin)
    base = {"owner": world.rep_a1.pk, "team": world.team_a.pk}
    before = Contact.objects.count()
    refused = client.post("/admin/crm/contact/add/", {**base, "first_name": "منى", "last_name": CONTROL})
    assert refused.status_code == 200 and "last_name" in refused.context["adminform"].form.errors
    assert Contact.objects.count() == before
    saved = client.post("/admin/crm/contact/add/", {**base, "first_name": SPOOF, "notes": "a\r\n\tb"})
    assert saved.status_code == 302
    contact = Contact.objects.get(first_name="Ngnp.exe")
    assert contact.notes == "a\n\tb"


def test_bulk_upsert_matches_a_key_as_the_rule_stores_it(world, bearer):
    """An external id sent with a bidi mark is the stored one: the item updates it, not a second contact."""
    stored = f.ContactFactory(owner=world.rep_a1, team=world.team_a, external_source="erp", external_id="K-1")
    items = [{"external_source": "erp", "external_id": "\u200fK-1\u200e", "first_name": "محدّث"}]
    response = bearer(world.rep_a1).post("/api/v1/contacts/bulk/", {"items": items}, format="json")
    assert response.json()["results"][0]["status"] == "updated", response.json()
    stored.refresh_from_db()
    assert stored.first_name == "محدّث"


def test_import_matches_an_external_id_as_the_rule_stores_it(world):
    """A cell's bidi marks (Arabic Excel adds them) do not make a stored record look new."""
    stored = f.ContactFactory(owner=world.rep_a1, team=world.team_a, external_source="import", external_id="E-1")
    job = _import(world, [["External id", "First name"], ["\u200fE-1\u200e", "محدّث"]])
    assert job.status == ImportStatus.DONE, job.errors
    assert job.summary["updated"] == 1 and job.summary["created"] == 0
    stored.refresh_from_db()
    assert stored.first_name == "محدّث"
