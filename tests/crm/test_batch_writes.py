"""Batch writes of customers (imports, bulk upsert): the one-record rules, a few statements per batch."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.exceptions import StaleVersionError
from core.models import ChangeCounter, Tombstone
from crm import services
from crm.models import Company, Contact
from pipeline.models import Deal
from tests import factories as f
from webhooks.models import WebhookDelivery, WebhookSubscription


def _subscribe(user, events):
    return WebhookSubscription.objects.create(
        owner=user, url="https://hooks.example.com/in", events=events, secret="s" * 32
    )


def _last_seq():
    return ChangeCounter.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0


def _new(n, **extra):
    return [services.Write(fields={"first_name": f"عميل {i}", "phone_raw": f"05{i:08d}", **extra}) for i in range(n)]


def test_creates_and_updates_follow_the_one_record_rules(world):
    stored = world.a1.contact
    tag = f.TagFactory()
    writes = [
        services.Write(
            fields={"first_name": "أحمد", "last_name": "الأحمدي", "email": " Ahmad@Example.TEST "}, tags=[tag]
        ),
        services.Write(fields={"first_name": "سارة", "owner": world.rep_a2}),  # a rep may not give it away
        services.Write(fields={"first_name": "نورة", "company": world.a1.company}),
        services.Write(fields={"notes": "محدث", "consent_marketing": True}, record=stored),
        services.Write(fields={"first_name": "هاتف", "phone_raw": "not a phone"}),
    ]
    results = services.customers_write_many(model=Contact, by=world.rep_a1, writes=writes)
    ahmad, refused, noura, updated, bad_phone = results
    assert isinstance(refused, ValidationError) and "owner" in refused.message_dict
    assert isinstance(bad_phone, ValidationError) and "phone_raw" in bad_phone.message_dict
    ahmad = Contact.objects.get(pk=ahmad.pk)
    assert ahmad.email == "ahmad@example.test" and ahmad.name_normalized == "احمد الاحمدي"
    assert ahmad.owner == world.rep_a1 and ahmad.team == world.team_a and list(ahmad.tags.all()) == [tag]
    assert Contact.objects.get(pk=noura.pk).team == world.a1.company.team
    updated = Contact.objects.get(pk=stored.pk)
    assert updated.notes == "محدث" and updated.version == 2 and updated.consent_updated_at is not None
    assert not Contact.objects.filter(first_name__in=["سارة", "هاتف"]).exists()


def test_the_batch_is_stamped_in_one_run_of_change_numbers(world):
    before = _last_seq()
    results = services.customers_write_many(model=Contact, by=world.rep_a1, writes=_new(5))
    seqs = sorted(Contact.objects.filter(pk__in=[r.pk for r in results]).values_list("change_seq", flat=True))
    assert seqs == list(range(before + 1, before + 6))
    assert _last_seq() == before + 5
    assert [r.change_seq for r in sorted(results, key=lambda r: r.pk)] == seqs


@pytest.mark.postgres  # SQLite's limit on query parameters splits batches sooner
def test_query_count_does_not_grow_with_the_batch(world):
    def queries(n):
        with CaptureQueriesContext(connection) as captured:
            services.customers_write_many(model=Contact, by=world.rep_a1, writes=_new(n))
        return len(captured)

    queries(1)  # the very first write of a database creates the change counter
    assert queries(300) == queries(10)
    assert Contact.objects.filter(first_name__startswith="عميل").count() == 311


def test_external_ids_are_unique_within_the_batch_and_against_stored_ones(world):
    f.ContactFactory(owner=world.rep_b, team=world.team_b, external_source="erp", external_id="taken")
    writes = [
        services.Write(fields={"first_name": "أ", "external_source": "erp", "external_id": "taken"}),
        services.Write(fields={"first_name": "ب", "external_source": "erp", "external_id": "twice"}),
        services.Write(fields={"first_name": "ج", "external_source": "erp", "external_id": "twice"}),
    ]
    first, second, third = services.customers_write_many(model=Contact, by=world.rep_a1, writes=writes)
    assert "external_id" in first.message_dict and "external_id" in third.message_dict
    assert isinstance(second, Contact)
    assert Contact.objects.filter(external_id="twice").count() == 1


def test_check_only_writes_nothing(world):
    before = (Contact.objects.count(), _last_seq())
    results = services.customers_write_many(model=Contact, by=world.rep_a1, writes=_new(3), check_only=True)
    assert all(isinstance(r, Contact) and r.pk is None for r in results)
    assert (Contact.objects.count(), _last_seq()) == before


def test_a_stale_version_is_refused_and_the_rest_written(world):
    stored = world.a1.contact
    writes = [
        services.Write(fields={"notes": "x"}, record=stored, expected_version=stored.version + 1),
        *_new(1),
    ]
    stale, fresh = services.customers_write_many(model=Contact, by=world.rep_a1, writes=writes)
    assert isinstance(stale, StaleVersionError) and isinstance(fresh, Contact) and fresh.pk
    assert Contact.objects.get(pk=stored.pk).notes == stored.notes


def test_webhooks_go_only_to_subscribers_who_may_see_each_record(world):
    mine = _subscribe(world.manager_a, ["contact.created", "contact.updated"])
    other = _subscribe(world.manager_b, ["contact.created"])
    created, updated = services.customers_write_many(
        model=Contact,
        by=world.rep_a1,
        writes=[*_new(1), services.Write(fields={"notes": "y"}, record=world.a1.contact)],
    )
    payloads = {d.event: d.payload for d in WebhookDelivery.objects.filter(subscription=mine)}
    assert payloads["contact.created"]["id"] == created.pk
    assert payloads["contact.updated"]["data"]["notes"] == "y"
    assert payloads["contact.updated"]["data"]["change_seq"] == Contact.objects.get(pk=updated.pk).change_seq
    assert not WebhookDelivery.objects.filter(subscription=other).exists()


def test_delete_many_leaves_tombstones_and_stamps_what_lost_its_link(world):
    contact, deal = world.a1.contact, world.a1.deal
    assert deal.contact_id == contact.pk
    before = _last_seq()
    services.customers_delete_many(model=Contact, by=world.rep_a1, records=[contact])
    assert not Contact.objects.filter(pk=contact.pk).exists()
    stone = Tombstone.objects.get(model="crm.contact", object_id=contact.pk)
    deal = Deal.objects.get(pk=deal.pk)
    assert deal.contact_id is None and deal.version == world.a1.deal.version + 1
    assert {stone.change_seq, deal.change_seq} == {before + 1, before + 2}


def test_delete_many_refuses_companies_with_deals(world):
    with pytest.raises(ValidationError):
        services.customers_delete_many(model=Company, by=world.rep_a1, records=[world.a1.company])
    assert Company.objects.filter(pk=world.a1.company.pk).exists()


@pytest.mark.postgres
def test_each_row_is_written_once_with_its_change_number(world):
    stored = world.a1.contact
    writes = [*_new(3), services.Write(fields={"notes": "مرة واحدة"}, record=stored)]
    with CaptureQueriesContext(connection) as captured:
        results = services.customers_write_many(model=Contact, by=world.rep_a1, writes=writes)
    updates = [q["sql"] for q in captured if q["sql"].startswith('UPDATE "crm_contact"')]
    assert len(updates) == 1, updates  # the changed row's own update, no second pass to stamp
    last = _last_seq()
    stamped = dict(Contact.objects.filter(pk__in=[r.pk for r in results]).values_list("pk", "change_seq"))
    assert sorted(stamped.values()) == list(range(last - 3, last + 1))
    assert all(stamped[r.pk] == r.change_seq for r in results)


def test_fields_a_write_sets_and_names_it_derives_are_checked(world):
    writes = [
        services.Write(fields={"last_name": "بلا اسم أول"}),
        services.Write(fields={"first_name": "ب", "email": "not an email"}),
        # 100 characters, within first_name's limit, but each decomposes into 18 letters when normalized.
        services.Write(fields={"first_name": "\ufdfa" * 100}),
        services.Write(fields={"first_name": "صحيح", "job_title": "م" * 121}),
    ]
    missing, bad_email, long_name, long_title = services.customers_write_many(
        model=Contact, by=world.rep_a1, writes=writes
    )
    assert "first_name" in missing.message_dict
    assert "email" in bad_email.message_dict
    assert "name_normalized" in long_name.message_dict
    assert "job_title" in long_title.message_dict
    assert not Contact.objects.filter(first_name__in=["ب", "صحيح"]).exists()
