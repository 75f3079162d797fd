"""The API's read paths at scale: trigram search, lists without COUNT, tags read once, the fast representation."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIRequestFactory

from core.api.sync import serializer_for
from crm.api.filtersets import CompanyApiFilterSet, ContactApiFilterSet
from crm.api.serializers import CompanySerializer, ContactSerializer, FastReadMixin
from crm.models import Company, Contact
from tests import factories as f


def found(api, path, search):
    return {item["id"] for item in api.get(f"/api/v1/{path}/", {"search": search}).json()["results"]}


def test_search_finds_an_arabic_fragment_however_it_is_spelled(world, bearer):
    ahmad = f.ContactFactory(owner=world.rep_a1, team=world.team_a, first_name="أحمد", last_name="القحطاني")
    aisha = f.ContactFactory(owner=world.rep_a1, team=world.team_a, first_name="عائشة", last_name="الزهراني")
    api = bearer(world.rep_a1)
    assert ahmad.pk in found(api, "contacts", "احمد")  # hamza folded
    assert ahmad.pk in found(api, "contacts", "أَحْمَـد")  # diacritics and tatweel typed
    assert ahmad.pk in found(api, "contacts", "قحط")  # a fragment from the middle of the family name
    assert found(api, "contacts", "عائشه") == {aisha.pk}  # teh marbuta typed as heh
    assert found(api, "contacts", "زهراني القحط") == set()


def test_search_of_another_team_finds_nothing_there(world, bearer):
    f.ContactFactory(owner=world.rep_b, team=world.team_b, first_name="خديجة", last_name="الدوسري")
    assert found(bearer(world.rep_a1), "contacts", "الدوسري") == set()


def _plan(queryset) -> str:
    """EXPLAIN of `queryset` with sequential and plain index scans off: what an index can do for it."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_indexscan")
    return plan


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("filterset", "model", "indexes"),
    [
        (ContactApiFilterSet, Contact, ["contact_name_trgm_idx", "contact_email_trgm_idx"]),
        (CompanyApiFilterSet, Company, ["company_name_trgm_idx", "company_website_trgm_idx"]),
    ],
)
def test_search_conditions_match_the_trigram_indexes(world, filterset, model, indexes):
    """The indexes were built on exactly the expressions the search writes, or the planner could not use them."""
    request = APIRequestFactory().get("/")
    request.user = world.admin  # everything visible: the search is the only condition an index could serve
    queryset = filterset({"search": "قحطا"}, queryset=model.objects.visible_to(world.admin), request=request).qs
    plan = _plan(queryset)
    for index in indexes:
        assert index in plan


def test_the_contact_list_counts_nothing(world, bearer):
    for _ in range(5):
        f.ContactFactory(owner=world.rep_a1, team=world.team_a)
    api = bearer(world.rep_a1)
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/contacts/", {"owner": world.rep_a1.pk, "page_size": 2})
    assert response.status_code == 200 and response.json()["next"]
    assert not [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"].upper()]


def test_a_page_reads_every_tag_in_one_query_in_name_order(world, bearer):
    zebra, alpha = f.TagFactory(name="Zebra"), f.TagFactory(name="Alpha")
    for _ in range(30):
        f.ContactFactory(owner=world.rep_a1, team=world.team_a).tags.add(zebra, alpha)
    api = bearer(world.rep_a1)
    with CaptureQueriesContext(connection) as queries:
        results = api.get("/api/v1/contacts/", {"page_size": 100}).json()["results"]
    assert len([query for query in queries.captured_queries if "crm_contact_tags" in query["sql"]]) == 1
    tagged = [item for item in results if item["tags"]]
    assert len(tagged) == 30 and all(item["tags"] == [alpha.pk, zebra.pk] for item in tagged)


@pytest.mark.parametrize("serializer_class", [ContactSerializer, serializer_for(Contact)])
def test_the_fast_contact_representation_is_drfs(world, serializer_class):
    vip = f.TagFactory(name="VIP")
    tagged = f.ContactFactory(owner=world.rep_a1, team=world.team_a, company=None, first_name="إيمان", email="")
    tagged.tags.add(vip)
    services_touched = f.ContactFactory(owner=world.rep_a2, team=world.team_a, company=world.a2.company)
    Contact.objects.filter(pk=services_touched.pk).update(
        last_contacted_at=world.a2.activity.occurred_at, consent_updated_at=world.a2.activity.occurred_at
    )
    records = list(Contact.objects.order_by("pk"))
    fast = serializer_class(records, many=True).data
    drf = [super(FastReadMixin, serializer_class()).to_representation(record) for record in records]
    assert fast == drf
    assert any(item["tags"] == [vip.pk] for item in fast) and any(item["company"] is None for item in fast)
    assert any(item["last_contacted_at"] and item["last_contacted_at"].endswith("Z") for item in fast)


def test_the_fast_company_representation_is_drfs(world):
    world.a1.company.tags.add(f.TagFactory(name="حكومي"), f.TagFactory(name="VIP"))
    records = list(Company.objects.order_by("pk"))
    assert CompanySerializer(records, many=True).data == [
        super(FastReadMixin, CompanySerializer()).to_representation(record) for record in records
    ]


def test_one_record_is_represented_without_the_list_serializer(world, bearer):
    world.a1.contact.tags.add(f.TagFactory(name="VIP"))
    body = bearer(world.rep_a1).get(f"/api/v1/contacts/{world.a1.contact.pk}/").json()
    assert body["tags"] == list(world.a1.contact.tags.values_list("pk", flat=True))
    assert body == super(FastReadMixin, ContactSerializer()).to_representation(world.a1.contact)
