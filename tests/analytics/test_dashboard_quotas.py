"""Sales targets: managers set them for their teams' reps, history is kept, reps see their progress on My day."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import Quota
from accounts.services import quota_set
from tests.analytics.builders import DAY

URL = "analytics:quotas"


def _post(client, **overrides):
    data = {
        "period_kind": "month",
        "start": "2025-11-05",
        "target_won_value": "40000",
        "currency": "SAR",
        "target_won_deals": "10",
        "target_activities": "20",
        **overrides,
    }
    return client.post(reverse(URL), data)


def test_manager_sets_a_target_for_a_rep_of_their_team(client, world):
    client.force_login(world.manager_a)
    response = _post(client, rep=world.rep_a1.pk)
    assert response.status_code == 302
    quota = Quota.objects.get()
    assert (quota.period_start, quota.period_end) == (date(2025, 11, 1), date(2025, 11, 30))
    assert quota.target_won_value == Decimal("40000.00") and quota.set_by == world.manager_a


def test_a_new_target_supersedes_the_old_one_and_keeps_it(client, world):
    client.force_login(world.manager_a)
    _post(client, rep=world.rep_a1.pk)
    _post(client, rep=world.rep_a1.pk, target_won_value="50000")
    assert Quota.objects.count() == 2
    active = Quota.objects.active().get()
    assert active.target_won_value == Decimal("50000.00")
    page = client.get(reverse(URL))
    assert len(page.context["history"]) == 2


@pytest.mark.parametrize(
    "overrides",
    [{"target_won_value": "-5"}, {"currency": "XYZ"}, {"target_won_deals": "-1"}, {"start": "not a date"}],
)
def test_bad_input_is_refused_and_nothing_is_saved(client, world, overrides):
    client.force_login(world.manager_a)
    response = _post(client, rep=world.rep_a1.pk, **overrides)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert not Quota.objects.exists()


def test_manager_cannot_set_a_target_outside_their_teams(client, world):
    client.force_login(world.manager_a)
    response = _post(client, rep=world.rep_b.pk)
    assert response.status_code == 400
    assert "rep" in response.context["form"].errors
    assert not Quota.objects.exists()
    with translation.override("en"), pytest.raises(Exception, match="teams you manage"):
        quota_set(
            rep=world.rep_b,
            kind="month",
            start=DAY,
            target_won_value=Decimal(1),
            currency="SAR",
            target_won_deals=0,
            target_activities=0,
            by=world.manager_a,
        )


def test_rep_cannot_set_targets_but_sees_their_own(client, world):
    quota_set(
        rep=world.rep_a1,
        kind="quarter",
        start=DAY,
        target_won_value=Decimal(1000),
        currency="SAR",
        target_won_deals=1,
        target_activities=1,
        by=world.manager_a,
    )
    quota_set(
        rep=world.rep_a2,
        kind="quarter",
        start=DAY,
        target_won_value=Decimal(1000),
        currency="SAR",
        target_won_deals=1,
        target_activities=1,
        by=world.manager_a,
    )
    client.force_login(world.rep_a1)
    page = client.get(reverse(URL))
    assert page.status_code == 200 and not page.context["can_set"]
    assert [quota.rep for quota in page.context["history"]] == [world.rep_a1]
    assert _post(client, rep=world.rep_a1.pk).status_code == 403
    assert Quota.objects.count() == 2


def test_admin_sets_a_target_for_anyone(client, world):
    client.force_login(world.admin)
    assert _post(client, rep=world.rep_b.pk, period_kind="quarter").status_code == 302
    quota = Quota.objects.get()
    assert (quota.period_start, quota.period_end) == (date(2025, 10, 1), date(2025, 12, 31))


def test_my_day_shows_the_reps_progress_with_bounded_queries(client, world, django_assert_max_num_queries):
    from django.utils import timezone

    today = timezone.localdate()
    quota_set(
        rep=world.rep_a1,
        kind="month",
        start=today,
        target_won_value=Decimal(1000),
        currency="SAR",
        target_won_deals=2,
        target_activities=3,
        by=world.manager_a,
    )
    client.force_login(world.rep_a1)
    with django_assert_max_num_queries(40):
        response = client.get(reverse("workspace:home"))
    assert response.status_code == 200
    assert len(response.context["quota_progress"]) == 1
    assert 'id="quota-title"' in response.content.decode()
