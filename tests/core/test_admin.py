"""The Django admin (usable in Arabic) refuses bad input with translated errors and saves nothing."""

import pytest

from crm.models import Contact
from pipeline.models import Deal, StageChange


@pytest.fixture
def admin_client(client, world):
    world.admin.is_staff = True
    world.admin.is_superuser = True
    world.admin.save()
    client.force_login(world.admin)
    return client


def test_admin_contact_with_invalid_phone_shows_arabic_error_and_saves_nothing(admin_client, world):
    before = Contact.objects.count()
    response = admin_client.post(
        "/admin/crm/contact/add/",
        {
            "first_name": "منى",
            "phone_raw": "٠١٢",
            "owner": world.rep_a1.pk,
            "team": world.team_a.pk,
        },
    )
    assert response.status_code == 200
    assert "ليس رقم هاتف" in response.content.decode()
    assert Contact.objects.count() == before


def test_admin_deal_with_bad_money_shows_arabic_errors(admin_client, world):
    before = Deal.objects.count()
    base = {
        "title": "صفقة",
        "owner": world.rep_a1.pk,
        "team": world.team_a.pk,
        "pipeline": world.pipeline.pk,
        "stage": world.pipeline.s.lead.pk,
        "stage_changes-TOTAL_FORMS": "0",
        "stage_changes-INITIAL_FORMS": "0",
    }
    for amount, currency, message in [
        ("-5", "SAR", "لا يمكن أن يكون المبلغ"),
        ("abc", "SAR", "أدخل رقم"),
        ("100", "XYZ", "ليس رمز عملة"),
    ]:
        response = admin_client.post("/admin/pipeline/deal/add/", {**base, "amount": amount, "currency": currency})
        assert message in response.content.decode(), amount
    assert Deal.objects.count() == before


def test_admin_stage_change_goes_through_the_service(admin_client, world):
    deal = world.a1.deal
    data = {
        "title": deal.title,
        "owner": deal.owner_id,
        "team": deal.team_id,
        "pipeline": deal.pipeline_id,
        "stage": world.pipeline.s.proposal.pk,
        "amount": "500",
        "currency": "SAR",
        "company": deal.company_id,
        "contact": deal.contact_id,
        "stage_changes-TOTAL_FORMS": "1",
        "stage_changes-INITIAL_FORMS": "1",
        "stage_changes-0-id": world.a1.stage_change.pk,
        "stage_changes-0-deal": deal.pk,
    }
    response = admin_client.post(f"/admin/pipeline/deal/{deal.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    deal.refresh_from_db()
    assert deal.stage == world.pipeline.s.proposal
    assert deal.amount == 500
    change = StageChange.objects.filter(deal=deal).order_by("pk").last()
    assert (change.from_stage, change.to_stage) == (world.pipeline.s.lead, world.pipeline.s.proposal)
