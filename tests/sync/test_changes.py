"""changes/ endpoints: full then incremental sync, deletions as tombstones, visibility, tokens, retention."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import sync
from core.models import ChangeCounter, Tombstone
from crm import services as crm_services
from crm.models import Activity, ActivityKind, Company, Contact
from pipeline import services as deal_services
from pipeline.models import Deal


def ids(entries):
    return sorted(entry["id"] for entry in entries)


def test_full_sync_returns_every_visible_contact_then_nothing_new(world, pull):
    changes, deleted, token = pull(world.rep_a1)
    assert ids(changes) == sorted([world.a1.contact.pk, world.a2.contact.pk])
    assert deleted == []
    again, deleted, _ = pull(world.rep_a1, token=token)
    assert again == [] and deleted == []


def test_full_sync_pages_through_records_never_stamped(world, pull):
    for _ in range(5):
        crm_services.contact_create(by=world.rep_a1, first_name="سالم")
    Contact.objects.update(change_seq=0)  # as rows written before sync existed
    changes, _deleted, _token = pull(world.admin, limit=2)
    assert ids(changes) == sorted(Contact.objects.values_list("pk", flat=True))


def test_incremental_sync_returns_creates_updates_and_deletes_in_order(world, pull):
    _, _, token = pull(world.rep_a1)
    created = crm_services.contact_create(by=world.rep_a1, first_name="ليلى", last_name="الحربي")
    crm_services.contact_update(contact=world.a1.contact, by=world.rep_a1, job_title="مدير مشتريات")
    crm_services.contact_delete(contact=world.a2.contact, by=world.manager_a)

    changes, deleted, token = pull(world.rep_a1, token=token)
    assert [c["id"] for c in changes] == [created.pk, world.a1.contact.pk]
    assert changes[1]["job_title"] == "مدير مشتريات"
    assert changes[1]["version"] == 2
    assert [d["id"] for d in deleted] == [world.a2.contact.pk]
    seqs = [c["change_seq"] for c in changes] + [d["change_seq"] for d in deleted]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert pull(world.rep_a1, token=token)[:2] == ([], [])


def test_limit_pages_through_records_and_tombstones_in_one_order(world, pull):
    _, _, token = pull(world.admin)
    made = [crm_services.contact_create(by=world.rep_a1, first_name=f"Contact {n}") for n in range(5)]
    crm_services.contact_delete(contact=made[1], by=world.rep_a1)
    crm_services.contact_update(contact=made[0], by=world.rep_a1, last_name="Later")
    changes, deleted, _ = pull(world.admin, token=token, limit=2)
    assert ids(changes) == sorted([made[0].pk, made[2].pk, made[3].pk, made[4].pk])
    assert ids(deleted) == [made[1].pk]
    # made[0] came twice (created, then updated) with different versions, never twice the same.
    seen = [(c["id"], c["version"]) for c in changes]
    assert len(seen) == len(set(seen))


def test_rep_of_another_team_receives_neither_records_nor_tombstones(world, pull):
    _, _, token_b = pull(world.rep_b)
    _, _, token_a = pull(world.rep_a1)
    crm_services.contact_update(contact=world.a1.contact, by=world.rep_a1, job_title="x")
    crm_services.contact_delete(contact=world.a2.contact, by=world.rep_a2)
    assert pull(world.rep_b, token=token_b)[:2] == ([], [])
    changes, deleted, _ = pull(world.rep_a1, token=token_a)
    assert ids(changes) == [world.a1.contact.pk] and ids(deleted) == [world.a2.contact.pk]


def test_deals_follow_owner_visibility_and_stage_moves(world, pull):
    _, _, token = pull(world.rep_a1, "deals")
    deal_services.deal_move_to_stage(deal=world.a1.deal, stage=world.pipeline.s.proposal, by=world.rep_a1)
    deal_services.deal_move_to_stage(deal=world.a2.deal, stage=world.pipeline.s.proposal, by=world.rep_a2)
    changes, _, _ = pull(world.rep_a1, "deals", token=token)
    assert ids(changes) == [world.a1.deal.pk]
    assert changes[0]["stage"] == world.pipeline.s.proposal.pk


def test_deal_delete_leaves_a_tombstone_with_its_owner(world, pull):
    _, _, token = pull(world.manager_a, "deals")
    deal_services.deal_delete(deal=world.a2.deal, by=world.rep_a2)
    assert not Deal.objects.filter(pk=world.a2.deal.pk).exists()
    _, deleted, _ = pull(world.manager_a, "deals", token=token)
    assert ids(deleted) == [world.a2.deal.pk]
    assert pull(world.rep_a1, "deals", token=token)[1] == []  # a teammate never saw that deal


def test_deleting_a_contact_is_a_change_of_its_deals(world, pull):
    _, _, token = pull(world.rep_a1, "deals")
    crm_services.contact_delete(contact=world.a1.contact, by=world.rep_a1)
    changes, _, _ = pull(world.rep_a1, "deals", token=token)
    assert [(c["id"], c["contact"], c["version"]) for c in changes] == [(world.a1.deal.pk, None, 2)]


def test_company_with_deals_cannot_be_deleted_and_without_deals_leaves_a_tombstone(world, pull):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        crm_services.company_delete(company=world.a1.company, by=world.rep_a1)
    _, _, token = pull(world.rep_a1, "companies")
    company = crm_services.company_create(by=world.rep_a1, name="شركة مؤقتة")
    contact = crm_services.contact_create(by=world.rep_a1, first_name="نورة", company=company)
    _, _, contacts_token = pull(world.rep_a1, "contacts")
    crm_services.company_delete(company=company, by=world.rep_a1)
    changes, deleted, _ = pull(world.rep_a1, "companies", token=token)
    assert ids(changes) == [] and ids(deleted) == [company.pk]
    contacts, _, _ = pull(world.rep_a1, "contacts", token=contacts_token)
    assert [(c["id"], c["company"]) for c in contacts] == [(contact.pk, None)]


def test_logging_a_call_is_a_change_of_the_contact(world, pull):
    _, _, token = pull(world.rep_a1)
    crm_services.activity_log(by=world.rep_a1, kind=ActivityKind.CALL, contact=world.a1.contact)
    changes, _, _ = pull(world.rep_a1, token=token)
    assert ids(changes) == [world.a1.contact.pk]
    assert changes[0]["last_contacted_at"] is not None and changes[0]["version"] == 2
    assert Activity.objects.filter(contact=world.a1.contact).count() == 2


def test_companies_changes_include_updates(world, pull):
    _, _, token = pull(world.rep_b, "companies")
    crm_services.company_update(company=world.b.company, by=world.rep_b, city="دبي")
    changes, _, _ = pull(world.rep_b, "companies", token=token)
    assert [(c["id"], c["city"]) for c in changes] == [(world.b.company.pk, "دبي")]


def test_tampered_or_garbage_token_answers_400_in_the_error_shape(world, api, pull):
    _, _, token = pull(world.rep_a1)
    api.force_authenticate(world.rep_a1)
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "garbage", sync.make_token(5) + "x"):
        response = api.get("/api/v1/contacts/changes/", {"since": bad}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid" and "since" in error["fields"]


def test_bad_limit_answers_400(world, api):
    api.force_authenticate(world.rep_a1)
    for limit in ("0", "1001", "ten"):
        response = api.get("/api/v1/contacts/changes/", {"limit": limit})
        assert response.status_code == 400
        assert "limit" in response.json()["error"]["fields"]


def test_anonymous_gets_401(api, world):
    assert api.get("/api/v1/deals/changes/").status_code == 401


def test_token_older_than_the_retention_answers_410_and_a_full_sync_recovers(world, pull, api, settings):
    _, _, old_token = pull(world.rep_a1)
    crm_services.contact_delete(contact=world.a2.contact, by=world.rep_a2)
    Tombstone.objects.update(deleted_at=timezone.now() - timedelta(days=settings.SYNC_TOMBSTONE_RETENTION_DAYS + 1))
    assert sync.tombstones_purge() == 1
    assert ChangeCounter.objects.get(pk=1).purged_through_seq > 0
    api.force_authenticate(world.rep_a1)
    response = api.get("/api/v1/contacts/changes/", {"since": old_token}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "sync_token_expired"
    assert "full" in response.json()["error"]["message"]
    changes, deleted, _ = pull(world.rep_a1)
    assert ids(changes) == [world.a1.contact.pk] and deleted == []


def test_purge_keeps_tombstones_inside_the_retention(world):
    crm_services.contact_delete(contact=world.a2.contact, by=world.rep_a2)
    assert sync.tombstones_purge() == 0
    assert Tombstone.objects.count() == 1


def test_purge_task_is_on_the_beat_schedule():
    from config.celery import app

    entry = app.conf.beat_schedule["sync-tombstones-purge"]
    assert entry["task"] == "core.tasks.sync_tombstones_purge"


def test_every_service_write_gets_a_new_increasing_change_seq(world):
    seqs = []
    company = crm_services.company_create(by=world.rep_a1, name="ألفا")
    seqs.append(Company.objects.get(pk=company.pk).change_seq)
    contact = crm_services.contact_create(by=world.rep_a1, first_name="Ali", company=company)
    seqs.append(Contact.objects.get(pk=contact.pk).change_seq)
    deal = deal_services.deal_create(by=world.rep_a1, title="T", amount="10", currency="SAR", company=company)
    seqs.append(Deal.objects.get(pk=deal.pk).change_seq)
    deal = deal_services.deal_update(deal=deal, by=world.rep_a1, title="T2")
    seqs.append(Deal.objects.get(pk=deal.pk).change_seq)
    deal_services.deal_mark_won(deal=deal, by=world.rep_a1)
    seqs.append(Deal.objects.get(pk=deal.pk).change_seq)
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] > 0
    assert Deal.objects.get(pk=deal.pk).version == 3


def test_admin_edit_and_delete_are_synced(world, client, pull):
    from django.urls import reverse

    world.admin.is_staff = world.admin.is_superuser = True
    world.admin.save()
    admin_client = client
    admin_client.force_login(world.admin)
    _, _, token = pull(world.rep_a1)
    contact = world.a1.contact
    url = reverse("admin:crm_contact_change", args=[contact.pk])
    data = {"first_name": "معدل", "owner": contact.owner_id, "team": contact.team_id, "company": contact.company_id}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    admin_client.post(reverse("admin:crm_contact_delete", args=[world.a2.contact.pk]), {"post": "yes"})
    changes, deleted, _ = pull(world.rep_a1, token=token)
    assert [(c["id"], c["first_name"], c["version"]) for c in changes] == [(contact.pk, "معدل", 2)]
    assert ids(deleted) == [world.a2.contact.pk]


def test_changes_pages_of_many_records_cost_a_fixed_number_of_queries(world, api, django_assert_max_num_queries):
    from tests import factories as f

    tags = [f.TagFactory(name=f"وسم {n}") for n in range(3)]
    for n in range(60):
        contact = crm_services.contact_create(by=world.rep_a1, first_name=f"جهة {n}", tags=tags[: n % 3])
        deal_services.deal_create(by=world.rep_a1, title=f"صفقة {n}", amount="100", currency="SAR", contact=contact)
    api.force_authenticate(world.manager_a)
    for resource in ("contacts", "deals", "companies"):
        with django_assert_max_num_queries(8):
            response = api.get(f"/api/v1/{resource}/changes/")
        assert response.status_code == 200
    assert len(api.get("/api/v1/contacts/changes/").json()["changes"]) == 62


def test_a_full_sync_paging_through_unstamped_records_survives_a_purge(world, pull, api):
    for n in range(4):
        crm_services.contact_create(by=world.rep_a1, first_name=f"قديم {n}")
    crm_services.contact_delete(contact=world.a2.contact, by=world.rep_a2)
    Contact.objects.update(change_seq=0)
    Tombstone.objects.update(deleted_at=timezone.now() - timedelta(days=365))
    api.force_authenticate(world.rep_a1)
    first = api.get("/api/v1/contacts/changes/", {"limit": 2}).json()
    assert first["has_more"]
    assert sync.tombstones_purge() == 1
    changes, _deleted, _token = pull(world.rep_a1, token=first["next_sync_token"], limit=2)
    assert ids(first["changes"] + changes) == sorted(
        Contact.objects.visible_to(world.rep_a1).values_list("pk", flat=True)
    )
