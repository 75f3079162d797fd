"""Bulk upsert of contacts by (external_source, external_id)."""

import time

import pytest

from crm.models import Contact
from tests import factories as f

URL = "/api/v1/contacts/bulk/"


def test_mixed_good_and_bad_items_each_get_their_result(world, bearer):
    existing = f.ContactFactory(
        owner=world.rep_a1, team=world.team_a, external_source="erp", external_id="C-1", first_name="قديم"
    )
    items = [
        {"external_source": "erp", "external_id": "C-1", "first_name": "محدّث"},
        {"external_source": "erp", "external_id": "C-2", "first_name": "جديد", "phone_raw": "0501234567"},
        {"external_source": "erp", "external_id": "C-3", "first_name": ""},
        {"external_source": "erp", "external_id": "C-4", "first_name": "هاتف", "phone_raw": "not a phone"},
        {"external_source": "erp", "first_name": "بلا معرّف"},
        {"external_source": "erp", "external_id": "C-5", "first_name": "Unknown", "colour": "blue"},
        {"external_source": "erp", "external_id": "C-6", "first_name": "شركة", "company": world.b.company.pk},
        {"external_source": "erp", "external_id": "C-7", "first_name": "وسم", "tags": [f.TagFactory().pk]},
    ]
    response = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="en").post(URL, {"items": items}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert [r["status"] for r in results] == [
        "updated",
        "created",
        "error",
        "error",
        "error",
        "error",
        "error",
        "created",
    ]
    assert results[0]["id"] == existing.pk
    assert "first_name" in results[2]["errors"]
    assert "phone_raw" in results[3]["errors"]
    assert "external_id" in results[4]["errors"]
    assert results[5]["errors"] == {"colour": ["Unknown field."]}
    assert "company" in results[6]["errors"]
    existing.refresh_from_db()
    assert existing.first_name == "محدّث" and existing.version == 2
    created = Contact.objects.get(external_source="erp", external_id="C-2")
    assert created.phone == "+966501234567" and created.owner == world.rep_a1
    assert not Contact.objects.filter(external_id__in=["C-3", "C-4", "C-5", "C-6"]).exists()


def test_a_contact_the_caller_may_not_edit_is_an_item_error(world, bearer):
    f.ContactFactory(owner=world.rep_b, team=world.team_b, external_source="erp", external_id="B-1")
    items = [{"external_source": "erp", "external_id": "B-1", "first_name": "سطو"}]
    result = bearer(world.rep_a1).post(URL, {"items": items}, format="json").json()["results"][0]
    assert result["status"] == "error" and "external_id" in result["errors"]


def test_the_same_key_twice_in_one_batch_creates_then_updates(world, bearer):
    items = [
        {"external_source": "crm2", "external_id": "X", "first_name": "أول"},
        {"external_source": "crm2", "external_id": "X", "first_name": "ثان"},
    ]
    results = bearer(world.rep_a1).post(URL, {"items": items}, format="json").json()["results"]
    assert [r["status"] for r in results] == ["created", "updated"]
    assert Contact.objects.get(external_source="crm2", external_id="X").first_name == "ثان"


@pytest.mark.parametrize("body", [{"items": [{"first_name": "x"}] * 1001}, {"items": []}, {"items": "x"}, {}])
def test_too_many_items_or_a_bad_envelope_is_a_400_and_writes_nothing(world, bearer, body):
    before = Contact.objects.count()
    assert bearer(world.rep_a1).post(URL, body, format="json").status_code == 400
    assert Contact.objects.count() == before


@pytest.mark.postgres
def test_a_batch_reads_what_it_refers_to_once(world, bearer, django_assert_max_num_queries):
    """Existing contacts, companies, owners, teams and tags are read once for the batch, not per item.

    The valid items are then written together (crm.services.customers_write_many): the
    whole request asks a fixed number of queries, so a new per-item lookup shows up.
    """
    api = bearer(world.rep_a1)
    for n in range(0, 200, 2):
        f.ContactFactory(owner=world.rep_a1, team=world.team_a, external_source="erp", external_id=f"P-{n}")
    tag = f.TagFactory()
    items = [
        {
            "external_source": "erp",
            "external_id": f"P-{n}",
            "first_name": f"عميل {n}",
            "company": world.a1.company.pk,
            "owner": world.rep_a1.pk,
            "team": world.team_a.pk,
            "tags": [tag.pk],
        }
        for n in range(200)
    ]
    started = time.perf_counter()
    with django_assert_max_num_queries(40):
        response = api.post(URL, {"items": items}, format="json")
    elapsed = time.perf_counter() - started
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses.count("created") == statuses.count("updated") == 100, response.json()["results"][:3]
    assert Contact.objects.filter(external_source="erp", tags=tag).count() == 200
    print(f"bulk upsert: {len(items)} items in {elapsed:.2f} s ({len(items) / elapsed:.0f} items/s)")


@pytest.mark.postgres
def test_a_round_the_database_undoes_to_break_a_deadlock_asks_to_send_again(world, bearer):
    """PostgreSQL aborts one side of a deadlock (simulated by a trigger raising its SQLSTATE): nothing is written."""
    from tests.pg import refuse_inserts

    refuse_inserts("crm_contact", column="external_id", value="X-2", sqlstate="40P01")
    items = [{"external_source": "erp", "external_id": f"X-{i}", "first_name": f"عميل {i}"} for i in range(3)]
    response = bearer(world.rep_a1, HTTP_ACCEPT_LANGUAGE="ar").post(URL, {"items": items}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error"] * 3
    assert {r["errors"]["non_field_errors"][0] for r in results} == {
        "كان تغيير آخر يُحفظ في اللحظة نفسها. أرسل هذا العنصر مرة أخرى."
    }
    assert not Contact.objects.filter(external_source="erp", external_id__startswith="X-").exists()
