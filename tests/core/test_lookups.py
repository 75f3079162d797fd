"""core.lookups: `field__any=[…]` matches exactly what `field__in=[…]` matches."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Contact


def _ids(queryset):
    return sorted(queryset.values_list("pk", flat=True))


def test_any_matches_what_in_matches(world):
    emails = list(Contact.objects.exclude(email="").values_list("email", flat=True)[:3])
    assert emails
    for values in (emails, [*emails, None, "nobody@example.test"], [], [None]):
        assert _ids(Contact.objects.filter(email__any=values)) == _ids(Contact.objects.filter(email__in=values))
        assert _ids(Contact.objects.exclude(email__any=values)) == _ids(Contact.objects.exclude(email__in=values))
    ids = _ids(Contact.objects.all())[:2]
    assert _ids(Contact.objects.filter(pk__any=ids)) == ids
    subquery = Contact.objects.filter(pk__in=ids).values("pk")
    assert _ids(Contact.objects.filter(pk__any=subquery)) == ids


@pytest.mark.postgres
def test_on_postgresql_the_values_are_one_array_parameter(world):
    keys = [f"k{i}@example.test" for i in range(500)]
    with CaptureQueriesContext(connection) as captured:
        list(Contact.objects.filter(email__any=keys))
    sql = captured[0]["sql"]
    assert "= ANY(" in sql and " IN (" not in sql


def test_a_longer_value_never_matches_a_stored_value_it_begins_with(world):
    stored = world.a1.contact
    stored.external_source, stored.external_id = "erp", "x" * 120  # the column's full length
    stored.save()
    longer = ["x" * 130]
    assert list(Contact.objects.filter(external_id__any=longer)) == list(Contact.objects.filter(external_id__in=longer))
    assert not Contact.objects.filter(external_id__any=longer).exists()
    assert Contact.objects.filter(external_id__any=["x" * 120]).get() == stored
