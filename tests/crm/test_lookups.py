"""The forms' combobox options: found as the member types, Arabic-aware, only what they may pick."""

import pytest
from django.urls import reverse

from crm.models import Company
from tests import factories as f


@pytest.fixture
def rep(client, world):
    client.force_login(world.rep_a1)
    return world.rep_a1


def labels(response) -> list[str]:
    assert response.status_code == 200
    return [row["label"] for row in response.json()["results"]]


def test_a_company_typed_without_hamza_is_found(client, world, rep):
    f.CompanyFactory(name="مؤسسة الأمل للتجارة", owner=rep, team=world.team_a)
    found = labels(client.get(reverse("crm:company_options"), {"q": "الامل"}))
    assert found == ["مؤسسة الأمل للتجارة"]
    # Taa marbuta and alef maqsura typed either way, diacritics ignored.
    assert labels(client.get(reverse("crm:company_options"), {"q": "مؤسسه الأَمل"})) == ["مؤسسة الأمل للتجارة"]


def test_another_teams_company_is_never_offered(client, world, rep):
    f.CompanyFactory(name="شركة الأمل دبي", owner=world.rep_b, team=world.team_b)
    f.CompanyFactory(name="شركة الأمل الرياض", owner=rep, team=world.team_a)
    for params in ({"q": "الامل"}, {"q": ""}, {"q": "الامل", "for": "contact"}):
        found = labels(client.get(reverse("crm:company_options"), params))
        assert "شركة الأمل دبي" not in found
        assert world.b.company.name not in found
    assert "شركة الأمل الرياض" in labels(client.get(reverse("crm:company_options"), {"q": "الامل"}))


def test_names_that_start_with_the_query_come_first(client, world, rep):
    f.CompanyFactory(name="مجموعة سما", owner=rep, team=world.team_a)
    f.CompanyFactory(name="سما للتقنية", owner=rep, team=world.team_a)
    assert labels(client.get(reverse("crm:company_options"), {"q": "سما"}))[:2] == ["سما للتقنية", "مجموعة سما"]


def test_contacts_offered_are_the_visible_ones_with_their_company(client, world, rep):
    found = labels(client.get(reverse("crm:contact_options"), {"q": world.a1.contact.first_name}))
    assert f"{world.a1.contact} · {world.a1.company}" in found
    everyone = labels(client.get(reverse("crm:contact_options"), {"q": ""}))
    assert not any(str(world.b.contact) in label for label in everyone)


def test_owners_offered_are_the_assignable_people_only(client, world):
    client.force_login(world.manager_a)
    owners = labels(client.get(reverse("crm:people_options"), {"for": "owner"}))
    assert str(world.rep_a1) in owners and str(world.rep_b) not in owners
    client.force_login(world.rep_a1)
    assert labels(client.get(reverse("crm:people_options"), {"for": "owner"})) == [str(world.rep_a1)]
    assignees = labels(client.get(reverse("crm:people_options"), {"for": "assignee"}))
    assert str(world.rep_a2) in assignees and str(world.rep_b) not in assignees


def test_a_company_created_from_the_combobox_is_the_members(client, world, rep):
    response = client.post(reverse("crm:company_quick_create"), {"name": "شركة جديدة من النموذج"})
    assert response.status_code == 201
    company = Company.objects.get(pk=response.json()["id"])
    assert (company.name, company.owner, company.team) == ("شركة جديدة من النموذج", rep, world.team_a)


def test_a_company_without_a_name_is_refused_in_the_error_shape(client, world, rep):
    before = Company.objects.count()
    response = client.post(reverse("crm:company_quick_create"), {"name": "  "})
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"} and error["fields"]["name"]
    assert Company.objects.count() == before


def test_options_need_a_signed_in_member(client, world):
    assert client.get(reverse("crm:company_options")).status_code == 302
    assert client.post(reverse("crm:company_quick_create"), {"name": "x"}).status_code == 302


def test_the_form_fields_are_comboboxes_that_still_work_as_selects(client, world, rep):
    page = client.get(reverse("pipeline:deal_create")).content.decode()
    assert 'name="company"' in page and f'data-combobox="{reverse("crm:company_options")}"' in page
    assert f'data-combobox-create="{reverse("crm:company_quick_create")}"' in page
    assert f'data-combobox="{reverse("crm:contact_options")}"' in page
    assert f'data-combobox="{reverse("crm:people_options")}?for=owner"' in page
    contact_form = client.get(reverse("crm:contact_create")).content.decode()
    assert f'data-combobox="{reverse("crm:company_options")}?for=contact"' in contact_form
    # Without JavaScript the select lists the companies the member may pick.
    assert f'<option value="{world.a1.company.pk}"' in contact_form
