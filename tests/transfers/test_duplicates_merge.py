import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crm.models import Activity, Contact, FollowUp
from pipeline.models import Deal
from tests import factories as f
from transfers.duplicates import duplicate_pairs
from transfers.services import merge_records, merge_undo


@pytest.fixture
def twins(world):
    tag_a, tag_b = f.TagFactory(name="VIP"), f.TagFactory(name="حكومي")
    keep = world.a1.contact
    keep.tags.add(tag_a)
    twin = f.ContactFactory(
        owner=world.rep_a1,
        team=world.team_a,
        first_name="أحمد",
        last_name="سالم",
        email=keep.email.upper(),
        company=world.a1.company,
        job_title="مدير",
    )
    twin.tags.add(tag_a, tag_b)
    activity = f.ActivityFactory(actor=world.rep_a1, team=world.team_a, contact=twin)
    follow_up = f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, contact=twin)
    deal = f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.lead, contact=twin)
    return keep, twin, activity, follow_up, deal, tag_b


def test_duplicate_pairs_by_email_phone_and_name(world, twins, django_assert_max_num_queries):
    keep, twin, *_ = twins
    f.ContactFactory(
        owner=world.rep_a2,
        team=world.team_a,
        first_name="احمد",
        last_name="سالم",
        company=world.a1.company,
        email="other@example.test",
        phone_raw="0509999999",
        phone="+966509999999",
    )
    f.ContactFactory(owner=world.rep_b, team=world.team_b, email=keep.email)  # invisible to team A
    for _ in range(50):
        f.ContactFactory(owner=world.rep_a1, team=world.team_a)
    with django_assert_max_num_queries(5):
        pairs = duplicate_pairs(user=world.rep_a1)
    reasons = {(p["reason"], tuple(sorted(r.pk for r in p["records"]))) for p in pairs}
    assert ("email", tuple(sorted([keep.pk, twin.pk]))) in reasons
    assert any(reason == "name" for reason, _ in reasons)
    assert all(world.team_b.pk not in {r.team_id for r in p["records"]} for p in pairs)


def test_duplicates_page_and_create_warning(client, world, twins, django_assert_max_num_queries):
    keep, twin, *_ = twins
    client.force_login(world.rep_a1)
    for _ in range(50):
        f.ContactFactory(owner=world.rep_a1, team=world.team_a, email="same@example.test")
    with django_assert_max_num_queries(15):
        page = client.get(reverse("transfers:duplicates"))
    assert page.status_code == 200 and twin.get_absolute_url() in page.content.decode()
    warning = client.get(reverse("transfers:contact_duplicate_check"), {"email": keep.email, "first_name": "x"})
    assert keep.get_absolute_url() in warning.content.decode()
    assert (
        client.get(reverse("transfers:contact_duplicate_check"), {"email": "nobody@example.test"}).content.strip()
        == b""
    )
    form = client.get(reverse("crm:contact_create")).content.decode()
    assert reverse("transfers:contact_duplicate_check") in form


def test_api_duplicates(world, twins):
    keep, *_ = twins
    api = APIClient()
    api.force_authenticate(world.rep_b)
    assert api.get("/api/v1/contacts/duplicates/", {"email": keep.email}).json()["results"] == []
    api.force_authenticate(world.rep_a1)
    found = api.get("/api/v1/contacts/duplicates/", {"email": keep.email, "phone": "", "name": ""}).json()["results"]
    assert len(found) == 2


def _state(keep):
    return (
        sorted(
            Contact.objects.values_list(
                "pk", "first_name", "last_name", "email", "job_title", "company_id", "created_at"
            )
        ),
        sorted(Activity.objects.values_list("pk", "contact_id")),
        sorted(FollowUp.objects.values_list("pk", "contact_id")),
        sorted(Deal.objects.values_list("pk", "contact_id")),
        sorted(Contact.tags.through.objects.values_list("contact_id", "tag_id")),
    )


def test_merge_moves_everything_and_undo_restores_it(world, twins):
    keep, twin, activity, follow_up, deal, _tag_b = twins
    before = _state(keep)
    merge = merge_records(
        by=world.rep_a1,
        kind="contact",
        survivor_id=keep.pk,
        other_ids=[twin.pk],
        choices={"job_title": twin.pk, "first_name": keep.pk},
    )
    assert not Contact.objects.filter(pk=twin.pk).exists()
    keep.refresh_from_db()
    assert keep.job_title == "مدير"
    for row in (activity, follow_up, deal):
        row.refresh_from_db()
        assert row.contact_id == keep.pk
    assert set(keep.tags.values_list("name", flat=True)) == {"VIP", "حكومي"}
    assert keep.activities.filter(kind="note", body__contains=str(twin)).exists()  # the timeline entry
    merge_undo(merge=merge, by=world.rep_a1)
    assert _state(keep) == before


def test_only_editable_records_merge(world, twins):
    keep, twin, *_ = twins
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        merge_records(by=world.rep_a2, kind="contact", survivor_id=keep.pk, other_ids=[twin.pk])
    with pytest.raises(ValidationError):
        merge_records(by=world.rep_a1, kind="contact", survivor_id=keep.pk, other_ids=[world.b.contact.pk])


def test_company_merge_moves_contacts_and_deals(world):
    dup = f.CompanyFactory(owner=world.rep_a1, team=world.team_a, name=world.a1.company.name)
    contact = f.ContactFactory(owner=world.rep_a1, team=world.team_a, company=dup)
    deal = f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.lead, company=dup)
    merge = merge_records(by=world.rep_a1, kind="company", survivor_id=world.a1.company.pk, other_ids=[dup.pk])
    contact.refresh_from_db(), deal.refresh_from_db()
    assert contact.company_id == deal.company_id == world.a1.company.pk
    merge_undo(merge=merge, by=world.rep_a1)
    contact.refresh_from_db(), deal.refresh_from_db()
    assert contact.company_id == deal.company_id == dup.pk


def test_merge_page_and_api(client, world, twins):
    keep, twin, *_ = twins
    client.force_login(world.rep_a1)
    url = reverse("transfers:merge", args=["contact"])
    page = client.get(url, {"ids": [keep.pk, twin.pk]})
    assert page.status_code == 200
    response = client.post(url, {"ids": [keep.pk, twin.pk], "survivor": twin.pk, "field_email": keep.pk})
    assert response.status_code == 302 and not Contact.objects.filter(pk=keep.pk).exists()
    client.force_login(world.rep_b)
    assert client.get(url, {"ids": [twin.pk, world.a2.contact.pk]}).status_code == 404
    api = APIClient()
    api.force_authenticate(world.rep_a1)
    other = f.ContactFactory(owner=world.rep_a1, team=world.team_a)
    done = api.post("/api/v1/contacts/merge/", {"survivor": twin.pk, "merge": [other.pk]}, format="json")
    assert done.status_code == 201 and done.json()["survivor"] == twin.pk
    bad = api.post("/api/v1/contacts/merge/", {"survivor": twin.pk, "merge": [world.b.contact.pk]}, format="json")
    assert bad.status_code == 400 and "error" in bad.json()


def test_merge_is_undone_from_the_duplicates_page(client, world, twins):
    keep, twin, *_ = twins
    client.force_login(world.rep_a1)
    client.post(reverse("transfers:merge", args=["contact"]), {"ids": [keep.pk, twin.pk], "survivor": keep.pk})
    page = client.get(reverse("transfers:duplicates")).content.decode()
    from transfers.models import Merge

    merge = Merge.objects.get()
    assert reverse("transfers:merge_undo", args=[merge.pk]) in page
    client.force_login(world.rep_b)
    assert client.post(reverse("transfers:merge_undo", args=[merge.pk])).status_code == 404
    client.force_login(world.rep_a1)
    client.post(reverse("transfers:merge_undo", args=[merge.pk]))
    assert Contact.objects.filter(pk=twin.pk).exists()
    assert (
        reverse("transfers:merge_undo", args=[merge.pk])
        not in client.get(reverse("transfers:duplicates")).content.decode()
    )
