"""The search page and deal list operations of the benchmark: the page each requests shows what a member
would see (visible records only, the chance of winning of each deal), and the floor finds the same rows
in the same order, so a run measures the page it says it measures; a page that disagrees is an error."""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from assistant.models import DealScore
from assistant.templatetags.win_probability import as_chance
from bench import floor
from bench.run import deal_list_check, deal_list_path, search_page_check, search_page_floor, search_page_path
from bench.seed import SEARCH_FRAGMENT
from pipeline.models import StageKind
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    MembershipFactory,
    StageFactory,
    UserFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _floor(query) -> str:
    with connection.cursor() as cursor:
        cursor.execute(*query)
        return cursor.fetchone()[0]


@pytest.fixture
def rep():
    return MembershipFactory(user=UserFactory()).user


def test_the_search_page_shows_the_visible_matches_the_floor_finds(client, rep):
    team = rep.memberships.get().team
    outsider = MembershipFactory(user=UserFactory()).user
    company = CompanyFactory(name=f"مؤسسة {SEARCH_FRAGMENT} للتجارة", owner=rep, team=team)
    mine = [
        ContactFactory(first_name="سعد", last_name=SEARCH_FRAGMENT, owner=rep, team=team, company=company),
        ContactFactory(first_name=SEARCH_FRAGMENT, last_name="علي", owner=rep, team=team),
    ]
    hidden = ContactFactory(
        first_name="مريم", last_name=SEARCH_FRAGMENT, owner=outsider, team=outsider.memberships.get().team
    )
    ContactFactory(first_name="خالد", last_name="العتيبي", owner=rep, team=team)
    deal = DealFactory(title="توريد أجهزة", company=company, owner=rep, team=team)

    client.force_login(rep)
    response = client.get(search_page_path())
    assert response.status_code == 200
    html = response.content.decode()
    notes = search_page_check(html, _floor(search_page_floor(rep.pk)))
    assert notes.startswith("2 contacts, 1 companies, 1 deals shown")
    found = json.loads(_floor(search_page_floor(rep.pk)))
    # The name starting with the fragment first, as the page orders them.
    assert [row["id"] for row in found["contacts"]] == [mine[1].pk, mine[0].pk]
    assert [row["id"] for row in found["deals"]] == [deal.pk]
    assert hidden.full_name not in html and f"/contacts/{hidden.pk}/" not in html


def test_a_search_page_that_disagrees_with_the_floor_is_an_error(client, rep):
    team = rep.memberships.get().team
    ContactFactory(first_name="سعد", last_name=SEARCH_FRAGMENT, owner=rep, team=team)
    client.force_login(rep)
    html = client.get(search_page_path()).content.decode()
    found = json.loads(_floor(search_page_floor(rep.pk)))
    found["contacts"].append({"id": 0})
    with pytest.raises(RuntimeError, match="the search page shows"):
        search_page_check(html, json.dumps(found))


def test_the_deal_list_shows_each_deals_chance_highest_first_as_the_floor_does(client, rep):
    team = rep.memberships.get().team
    open_stage = StageFactory(probability=40)
    won_stage = StageFactory(pipeline=open_stage.pipeline, kind=StageKind.WON, probability=100)
    scored = DealFactory(title="صفقة مرجحة", stage=open_stage, owner=rep, team=team)
    likely = DealFactory(title="صفقة أرجح", stage=open_stage, owner=rep, team=team)
    unscored = DealFactory(title="صفقة بلا تقدير", stage=open_stage, owner=rep, team=team)
    won = DealFactory(title="صفقة رابحة", stage=won_stage, owner=rep, team=team)
    other = MembershipFactory(user=UserFactory()).user
    hidden = DealFactory(stage=open_stage, owner=other, team=other.memberships.get().team)
    for deal, probability in ((scored, "0.3000"), (likely, "0.9000"), (hidden, "0.9900")):
        DealScore.objects.create(
            deal=deal,
            probability=Decimal(probability),
            base_probability=Decimal("0.3"),
            factors=[],
            model_version=1,
            scored_at=timezone.now(),
        )

    client.force_login(rep)
    response = client.get(deal_list_path())
    assert response.status_code == 200
    html = response.content.decode()
    found = json.loads(_floor(floor.deal_list(viewer=rep.pk, admin=False)))
    # The model's 90 %, the stage's 40 %, the model's 30 %, then the closed deal.
    assert [row["id"] for row in found["deals"]] == [likely.pk, unscored.pk, scored.pk, won.pk]
    assert deal_list_check(html, json.dumps(found)).startswith("4 deals in view; 2 of 4 on the page scored")
    assert as_chance(Decimal("0.9")) in html and as_chance(Decimal("0.4")) in html
    assert f"/deals/{hidden.pk}/" not in html

    found["deals"].reverse()
    with pytest.raises(RuntimeError, match="the deal list shows"):
        deal_list_check(html, json.dumps(found))
