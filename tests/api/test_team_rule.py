"""Which team a record may belong to is checked on every write path, not only on creation.

The rule (core.services.Ownership.check): the owner is a member of the record's team,
unless an admin says otherwise; a rep puts records only in their own teams; a manager
puts other people's records only in the teams they manage. A refused write answers 400
in the one error shape, in the caller's language, and changes nothing.
"""

import pytest
from django.core.exceptions import ValidationError

from crm import services as crm_services
from crm.models import Company, Contact
from pipeline import services as pipeline_services
from pipeline.models import Deal
from tests import factories as f
from transfers.services import merge_records

NOT_A_MEMBER_EN = "is not a member of that team"


def _snapshot(record):
    record = type(record).objects.get(pk=record.pk)
    return record.team_id, record.owner_id, record.version, record.change_seq


def _lonely_records(world):
    """A contact, a company and a deal of rep_a1 in team A that no other record ties to team A."""
    return (
        f.ContactFactory(owner=world.rep_a1, team=world.team_a),
        f.CompanyFactory(owner=world.rep_a1, team=world.team_a),
        f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.lead),
    )


@pytest.mark.parametrize("resource", ["contacts", "companies", "deals"])
def test_a_rep_cannot_move_a_record_into_another_team_by_patch(world, bearer, resource):
    records = dict(zip(["contacts", "companies", "deals"], _lonely_records(world), strict=True))
    record = records[resource]
    before = _snapshot(record)
    response = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en").patch(
        f"/api/v1/{resource}/{record.pk}/", {"team": world.team_b.pk}, format="json"
    )
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert NOT_A_MEMBER_EN in " ".join(error["fields"]["team"])
    assert _snapshot(record) == before


def test_the_refusal_is_in_arabic_by_default(world, bearer):
    contact, _company, _deal = _lonely_records(world)
    response = bearer(world.rep_a1).patch(f"/api/v1/contacts/{contact.pk}/", {"team": world.team_b.pk}, format="json")
    assert response.status_code == 400
    message = " ".join(response.json()["error"]["fields"]["team"])
    assert "ليس من أعضاء هذا الفريق" in message


def test_a_put_that_names_another_team_is_refused_too(world, bearer):
    contact, _company, _deal = _lonely_records(world)
    api = bearer(world.rep_a1)
    body = api.get(f"/api/v1/contacts/{contact.pk}/").json()
    before = _snapshot(contact)
    for read_only in ("id", "phone", "consent_updated_at", "last_contacted_at", "version", "created_at", "updated_at"):
        body.pop(read_only)
    response = api.put(f"/api/v1/contacts/{contact.pk}/", {**body, "team": world.team_b.pk}, format="json")
    assert response.status_code == 400
    assert _snapshot(contact) == before


def test_bulk_upsert_cannot_move_a_stored_contact_into_another_team(world, bearer):
    stored = f.ContactFactory(owner=world.rep_a1, team=world.team_a, external_source="erp", external_id="T-1")
    before = _snapshot(stored)
    items = [
        {"external_source": "erp", "external_id": "T-1", "first_name": "منقول", "team": world.team_b.pk},
        {"external_source": "erp", "external_id": "T-2", "first_name": "جديد", "team": world.team_b.pk},
    ]
    response = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en").post(
        "/api/v1/contacts/bulk/", {"items": items}, format="json"
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [result["status"] for result in results] == ["error", "error"]
    for result in results:
        assert NOT_A_MEMBER_EN in " ".join(result["errors"]["team"])
    assert _snapshot(stored) == before
    assert stored.first_name != "منقول" and Contact.objects.get(pk=stored.pk).first_name == stored.first_name
    assert not Contact.objects.filter(external_id="T-2").exists()


def test_a_rep_may_move_their_record_between_their_own_teams(world, bearer):
    second = f.TeamFactory(name="فريق جدة")
    f.MembershipFactory(user=world.rep_a1, team=second)
    contact, company, deal = _lonely_records(world)
    api = bearer(world.rep_a1)
    for resource, record in (("contacts", contact), ("companies", company), ("deals", deal)):
        response = api.patch(f"/api/v1/{resource}/{record.pk}/", {"team": second.pk}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["team"] == second.pk


def test_a_manager_moves_records_only_into_teams_they_manage_and_the_owner_is_in(world):
    # manager_a manages team A; rep_a1 also belongs to team C, which manager_a does not manage.
    team_c = f.TeamFactory(name="فريق مكة")
    f.MembershipFactory(user=world.rep_a1, team=team_c)
    contact, company, deal = _lonely_records(world)
    for record, update in (
        (contact, lambda **kw: crm_services.contact_update(contact=contact, **kw)),
        (company, lambda **kw: crm_services.company_update(company=company, **kw)),
        (deal, lambda **kw: pipeline_services.deal_update(deal=deal, **kw)),
    ):
        before = _snapshot(record)
        with pytest.raises(ValidationError) as refused:
            update(by=world.manager_a, team=team_c)
        assert refused.value.message_dict == {"team": ["لا يمكنك وضع سجلات الآخرين إلا في الفرق التي تديرها."]}
        with pytest.raises(ValidationError):
            update(by=world.manager_a, team=world.team_b)  # not managed, and the owner is not in it
        assert _snapshot(record) == before


def test_a_manager_cannot_hand_a_record_to_a_member_of_a_team_they_do_not_manage(world):
    contact, _company, deal = _lonely_records(world)
    for call in (
        lambda: crm_services.contact_update(contact=contact, by=world.manager_a, owner=world.rep_b, team=world.team_b),
        lambda: pipeline_services.deal_update(deal=deal, by=world.manager_a, owner=world.rep_b),
    ):
        with pytest.raises(ValidationError):
            call()
    assert Contact.objects.get(pk=contact.pk).team_id == Deal.objects.get(pk=deal.pk).team_id == world.team_a.pk


def test_an_admin_may_move_a_record_to_any_team(world):
    contact, company, deal = _lonely_records(world)
    crm_services.contact_update(contact=contact, by=world.admin, team=world.team_b)
    crm_services.company_update(company=company, by=world.admin, team=world.team_b)
    pipeline_services.deal_update(deal=deal, by=world.admin, team=world.team_b)
    assert {type(r).objects.get(pk=r.pk).team_id for r in (contact, company, deal)} == {world.team_b.pk}


def test_an_edit_that_leaves_owner_and_team_alone_is_not_held_to_the_rule(world):
    """A record whose owner since left its team can still be corrected (its phone, its name)."""
    contact, company, deal = _lonely_records(world)
    from accounts.models import Membership

    Membership.objects.filter(user=world.rep_a1, team=world.team_a).delete()
    crm_services.contact_update(contact=contact, by=world.manager_a, job_title="مدير")
    crm_services.company_update(company=company, by=world.manager_a, city="جدة", team=world.team_a)
    pipeline_services.deal_update(deal=deal, by=world.manager_a, title="صفقة مصححة", owner=world.rep_a1)


def test_a_contact_or_deal_with_a_company_keeps_its_companys_team(world):
    contact = world.a1.contact  # works for world.a1.company, of team A, as world.a1.deal is for it
    second = f.TeamFactory(name="فريق جدة")
    f.MembershipFactory(user=world.rep_a1, team=second)
    with pytest.raises(ValidationError) as refused:
        crm_services.contact_update(contact=contact, by=world.rep_a1, team=second)
    assert "company" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        pipeline_services.deal_update(deal=world.a1.deal, by=world.rep_a1, team=second)
    assert "company" in refused.value.message_dict
    assert (
        Contact.objects.get(pk=contact.pk).team_id == Deal.objects.get(pk=world.a1.deal.pk).team_id == world.team_a.pk
    )


def test_a_company_with_contacts_or_deals_does_not_move_away_from_them(world):
    second = f.TeamFactory(name="فريق جدة")
    f.MembershipFactory(user=world.rep_a1, team=second)
    company = world.a1.company  # has a contact and a deal in team A
    before = _snapshot(company)
    with pytest.raises(ValidationError) as refused:
        crm_services.company_update(company=company, by=world.rep_a1, team=second)
    assert refused.value.message_dict == {
        "team": ["لهذه الشركة جهات اتصال أو صفقات في فريقها، لذا لا يمكن نقلها إلى فريق آخر."]
    }
    assert _snapshot(company) == before


def test_a_batch_write_checks_the_team_of_stored_records(world):
    contact = f.ContactFactory(owner=world.rep_a1, team=world.team_a)
    before = _snapshot(contact)
    [result] = crm_services.customers_write_many(
        model=Contact, by=world.rep_a1, writes=[crm_services.Write(fields={"team": world.team_b}, record=contact)]
    )
    assert isinstance(result, ValidationError) and "team" in result.message_dict
    assert _snapshot(contact) == before


@pytest.mark.parametrize("kind", ["contact", "company"])
def test_records_of_different_teams_are_not_merged(world, kind):
    """A merge moves the other record's contacts, deals and history onto the survivor: across teams it would
    file team B's deals under a team A company, which no write may do."""
    model = Contact if kind == "contact" else Company
    factory = f.ContactFactory if kind == "contact" else f.CompanyFactory
    keep = factory(owner=world.rep_a1, team=world.team_a)
    other = factory(owner=world.rep_b, team=world.team_b)
    deal = f.DealFactory(
        owner=world.rep_b,
        team=world.team_b,
        stage=world.pipeline.s.lead,
        **({"contact": other} if kind == "contact" else {"company": other}),
    )
    with pytest.raises(ValidationError) as refused:
        merge_records(by=world.admin, kind=kind, survivor_id=keep.pk, other_ids=[other.pk])
    assert refused.value.messages == ["لا يمكن دمج سجلات من فرق مختلفة. انقلها إلى فريق واحد أولاً."]
    assert model.objects.filter(pk=other.pk).exists()
    deal.refresh_from_db()
    assert (deal.contact_id if kind == "contact" else deal.company_id) == other.pk


def test_an_import_writes_its_rows_into_its_team_only_while_the_rule_allows_it(world):
    """An import names no team per row: new rows go to the job's team, through the same rule, when it runs."""
    from accounts.models import Membership
    from tests.transfers.conftest import csv_bytes
    from transfers import services as transfer_services
    from transfers.models import ImportStatus

    rows = [["First name", "Email"], ["سالم", "salem@example.test"]]
    job = transfer_services.import_create(by=world.rep_a1, kind="contacts", file_name="f.csv", data=csv_bytes(rows))
    assert job.team == world.team_a
    Membership.objects.filter(user=world.rep_a1, team=world.team_a).delete()  # left the team meanwhile
    job.status = ImportStatus.QUEUED
    job.save()
    transfer_services.import_run(job_id=job.pk)
    assert not Contact.objects.filter(email="salem@example.test").exists()
