"""The board's and My day's reads: what they pick, whatever the plan that picks it."""

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from crm.models import Company
from pipeline.models import Deal
from pipeline.selectors import board_deals, board_stages, going_cold, quick_add_companies
from tests import factories as f
from tests.pipeline.test_pages import many_deals


def test_closed_columns_hold_the_most_recently_closed_deals_and_every_open_deal(world):
    won, lead = world.pipeline.s.won, world.pipeline.s.lead
    many_deals(world, 30, stage=won)  # closed 0, 1, … 29 minutes ago
    undated = many_deals(world, 2, stage=won)
    Deal.objects.filter(pk__in=[deal.pk for deal in undated]).update(closed_at=None)
    columns = board_deals(user=world.rep_a1, pipeline=world.pipeline, stages=board_stages(pipeline=world.pipeline))
    newest = Deal.objects.filter(stage=won, owner=world.rep_a1, closed_at__isnull=False).order_by("-closed_at")[:20]
    assert {deal.pk for deal in columns[won.pk]} == {deal.pk for deal in newest}
    open_deals = Deal.objects.visible_to(world.rep_a1).filter(stage=lead).values_list("pk", flat=True)
    assert {deal.pk for deal in columns[lead.pk]} == set(open_deals)
    for column in columns.values():  # each column by expected close (undated last), then title
        keys = [(deal.expected_close is None, deal.expected_close, deal.title, deal.pk) for deal in column]
        assert keys == sorted(keys)


def test_a_rep_sees_only_their_own_deals_on_the_board(world):
    columns = board_deals(user=world.rep_a1, pipeline=world.pipeline, stages=board_stages(pipeline=world.pipeline))
    assert {deal.owner_id for column in columns.values() for deal in column} == {world.rep_a1.pk}


def test_quick_add_offers_the_most_recently_updated_companies_by_name(world):
    names = ["ياسمين", "ألف", "Beta", "بيت"]
    for name in names:
        f.CompanyFactory(owner=world.rep_a1, team=world.team_a, name=name)
    oldest = Company.objects.get(name="ياسمين")
    Company.objects.filter(pk=oldest.pk).update(updated_at=timezone.now() - timedelta(days=400))
    offered = quick_add_companies(user=world.rep_a1, limit=3)
    assert [name for _pk, name in offered] == sorted(["ألف", "Beta", "بيت"], key=str.casefold)
    assert all(Company.objects.visible_to(world.rep_a1).filter(pk=pk).exists() for pk, _name in offered)


def test_the_board_page_offers_no_more_than_the_recent_companies(client, world):
    Company.objects.bulk_create(
        Company(name=f"شركة {n}", name_normalized=f"شركه {n}", owner=world.rep_a1, team=world.team_a)
        for n in range(150)
    )
    client.force_login(world.rep_a1)
    html = client.get(reverse("pipeline:board")).content.decode()
    selects = re.findall(r'<select name="stage-\d+-company".*?</select>', html, re.S)
    assert selects and all(select.count("<option") == 100 + 1 for select in selects)  # "—" and 100 companies


def test_going_cold_follows_the_going_cold_days_of_each_deals_team(world):
    slow_team = f.TeamFactory(name="فريق بطيء", going_cold_days=40)
    f.MembershipFactory(user=world.rep_a1, team=slow_team)
    quiet_here = f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.lead)
    quiet_there = f.DealFactory(owner=world.rep_a1, team=slow_team, stage=world.pipeline.s.lead)
    twenty_days_ago = timezone.now() - timedelta(days=20)
    Deal.objects.filter(pk__in=[quiet_here.pk, quiet_there.pk]).update(created_at=twenty_days_ago)
    found = going_cold(user=world.rep_a1)
    assert quiet_here in found and quiet_there not in found
    assert next(deal for deal in found if deal == quiet_here).quiet_days == 20


def test_going_cold_days_zero_switches_the_alert_off_on_my_day(client, world):
    # The README's rule, as the nightly follow-ups apply it: 0 days means "no going-cold alert", not "always cold".
    silent_team = f.TeamFactory(name="فريق بلا تنبيه", going_cold_days=0)
    f.MembershipFactory(user=world.rep_a1, team=silent_team)
    quiet = f.DealFactory(owner=world.rep_a1, team=silent_team, stage=world.pipeline.s.lead, title="صفقة هادئة جدا")
    Deal.objects.filter(pk=quiet.pk).update(created_at=timezone.now() - timedelta(days=400))
    assert quiet not in going_cold(user=world.rep_a1)
    client.force_login(world.rep_a1)
    html = client.get(reverse("workspace:home")).content.decode()
    cold_section = html[html.index('id="cold-title"') : html.index('id="closing-title"')]
    assert "صفقة هادئة جدا" not in cold_section


def test_my_day_and_the_nightly_follow_ups_agree_on_who_is_going_cold(world):
    from pipeline.automations import going_cold_follow_ups_create

    silent_team = f.TeamFactory(name="فريق بلا تنبيه", going_cold_days=0)
    f.MembershipFactory(user=world.rep_a1, team=silent_team)
    deals = [
        f.DealFactory(owner=world.rep_a1, team=team, stage=world.pipeline.s.lead)
        for team in (world.team_a, silent_team)
    ]
    Deal.objects.filter(pk__in=[deal.pk for deal in deals]).update(created_at=timezone.now() - timedelta(days=60))
    shown = {deal.pk for deal in going_cold(user=world.rep_a1)}
    followed = {follow_up.deal_id for follow_up in going_cold_follow_ups_create() if follow_up.assignee == world.rep_a1}
    assert deals[0].pk in shown and deals[1].pk not in shown
    assert shown == followed


def test_going_cold_takes_the_newest_activity_on_the_deal_its_company_or_contact_quietest_first(world):
    from crm.models import Activity

    rep, team, lead = world.rep_a1, world.team_a, world.pipeline.s.lead  # team_a: 14 going-cold days
    now = timezone.now()
    company = f.CompanyFactory(owner=rep, team=team)
    contact = f.ContactFactory(owner=rep, team=team)
    # Quiet: the company's last call, 30 days ago, is older than the deal itself (made 2 days ago) and
    # is still the last contact with the customer (the rule counts from creation only without any).
    by_company = f.DealFactory(owner=rep, team=team, stage=lead, company=company, contact=None)
    # Not quiet: its contact was called yesterday, though nothing was logged on the deal for 50 days.
    by_contact = f.DealFactory(owner=rep, team=team, stage=lead, contact=contact, company=None)
    # Quiet for longer: nothing logged at all since its creation 60 days ago.
    untouched = f.DealFactory(owner=rep, team=team, stage=lead, company=None, contact=None)
    Deal.objects.filter(pk__in=[by_company.pk, by_contact.pk]).update(created_at=now - timedelta(days=2))
    Deal.objects.filter(pk=untouched.pk).update(created_at=now - timedelta(days=60))
    f.ActivityFactory(actor=rep, team=team, company=company, contact=None, occurred_at=now - timedelta(days=30))
    f.ActivityFactory(actor=rep, team=team, contact=contact, occurred_at=now - timedelta(days=1))
    f.ActivityFactory(actor=rep, team=team, deal=by_contact, contact=None, occurred_at=now - timedelta(days=50))
    assert Activity.objects.filter(company=company).count() == 1

    found = going_cold(user=rep, now=now, limit=1000)
    ours = [deal for deal in found if deal.pk in {by_company.pk, by_contact.pk, untouched.pk}]
    assert [deal.pk for deal in ours] == [untouched.pk, by_company.pk]
    assert [deal.quiet_days for deal in ours] == [60, 30]
    assert ours[1].last_activity_at == Activity.objects.get(company=company).occurred_at
    assert [deal.last_activity_at for deal in found] == sorted(deal.last_activity_at for deal in found)
    # The shortest list is the head of the longer one, its records read along.
    assert going_cold(user=rep, now=now, limit=1) == found[:1]
    assert found[0].stage.kind == "open" and found[0].owner == rep
