"""core.bulk: set-based INSERT (COPY on PostgreSQL) and UPDATE (unnest) write exactly the in-memory values."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import bulk
from crm.models import Company, Contact


def _fields(contact):
    return {
        name: getattr(contact, name)
        for name in ("first_name", "email", "notes", "company_id", "consent_marketing", "last_contacted_at", "version")
    }


def test_insert_then_update_round_trip(world):
    now = timezone.now()
    records = [
        Contact(
            first_name=f"عميل {i}",
            email=f"c{i}@example.test" if i % 2 else "",
            notes="سطر\nثان\t«مقتبس»\\" if i == 1 else "",
            owner=world.rep_a1,
            team=world.team_a,
            company=world.a1.company if i % 3 == 0 else None,
            consent_marketing=bool(i % 2),
            last_contacted_at=now - timedelta(days=i) if i % 2 else None,
            created_at=now,
            updated_at=now,
        )
        for i in range(5)
    ]
    bulk.insert_rows(Contact, records)
    assert all(record.pk for record in records) and len({record.pk for record in records}) == 5
    stored = Contact.objects.in_bulk([record.pk for record in records])
    assert [_fields(stored[r.pk]) for r in records] == [_fields(r) for r in records]

    for i, record in enumerate(records):
        record.notes = "" if i == 1 else f"محدث {i}"
        record.company = None if i % 3 == 0 else world.a1.company
        record.consent_marketing = not record.consent_marketing
        record.last_contacted_at = None if i % 2 else now
        record.version = 7
    fields = ["notes", "company", "consent_marketing", "last_contacted_at", "version"]
    assert bulk.update_rows(Contact, records, fields) == 5
    stored = Contact.objects.in_bulk([record.pk for record in records])
    assert [_fields(stored[r.pk]) for r in records] == [_fields(r) for r in records]
    # A new record of the ordinary kind still gets the next id after the copied ones.
    assert Contact.objects.create(first_name="لاحق", owner=world.rep_a1, team=world.team_a).pk > max(stored)


def test_maker_makes_what_the_model_makes(world, django_assert_num_queries):
    values = {
        "first_name": "نورة",
        "email": "n@example.test",
        "owner": world.rep_a1,
        "team": world.team_a,
        "company": world.a1.company,
        "consent_marketing": True,
    }
    made, expected = bulk.maker(Contact)(values), Contact(**values)
    columns = [field.attname for field in Contact._meta.concrete_fields]
    assert [getattr(made, c) for c in columns] == [getattr(expected, c) for c in columns]
    assert made._state.adding and made.pk is None
    with django_assert_num_queries(0):  # related objects are cached, as the descriptors cache them
        assert (made.owner, made.team, made.company) == (world.rep_a1, world.team_a, world.a1.company)
    # An unsaved related record leaves its column empty until it is saved.
    assert bulk.maker(Contact)({**values, "company": Company(name="جديدة")}).company_id is None
    with pytest.raises(TypeError):
        bulk.maker(Contact)({"first_name": "x", "nickname": "y"})


def test_cycle_collection_is_held_off_inside_a_batch_and_restored():
    import gc

    assert gc.isenabled()
    with bulk.collecting_at_end():
        assert not gc.isenabled()
        with bulk.collecting_at_end():
            assert not gc.isenabled()
        assert not gc.isenabled()  # an inner batch does not turn it back on for the outer one
    assert gc.isenabled()
