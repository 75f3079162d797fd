"""The home page (My day so far) and its follow-up action."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from crm.models import FollowUp, FollowUpStatus
from tests import factories as f


def test_anonymous_user_is_sent_to_login(client, db):
    response = client.get(reverse("workspace:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_home_lists_own_due_and_overdue_follow_ups_only(client, world):
    overdue = f.FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, subject="اتصل بشركة الأفق", due_at=timezone.now() - timedelta(days=2)
    )
    f.FollowUpFactory(
        assignee=world.rep_a2, team=world.team_a, subject="متابعة زميل", due_at=timezone.now() - timedelta(days=1)
    )
    client.force_login(world.rep_a1)
    html = client.get(reverse("workspace:home")).content.decode()
    assert overdue.subject in html
    assert "متابعة زميل" not in html
    assert "متأخر" in html


def _my_day_rows(world, count: int) -> None:
    """`count` of everything My day lists: due follow-ups, deals closing this month, quiet deals, currencies."""
    from pipeline.models import Deal

    month_end = (timezone.localdate().replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    for n in range(count):
        contact = f.ContactFactory(owner=world.rep_a1, team=world.team_a)
        f.FollowUpFactory(
            assignee=world.rep_a1, team=world.team_a, contact=contact, due_at=timezone.now() - timedelta(hours=n + 1)
        )
        f.ActivityFactory(actor=world.rep_a1, team=world.team_a, contact=contact)
        closing = f.DealFactory(
            owner=world.rep_a1,
            team=world.team_a,
            contact=contact,
            stage=world.pipeline.s.proposal,
            currency=["SAR", "AED", "USD"][n % 3],
            expected_close=month_end,
        )
        quiet = f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.lead)
        Deal.objects.filter(pk__in=[closing.pk, quiet.pk]).update(created_at=timezone.now() - timedelta(days=40))


def test_home_query_count_does_not_grow_with_rows(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def home_queries() -> int:
        with CaptureQueriesContext(connection) as context:
            response = client.get(reverse("workspace:home"))
        assert response.status_code == 200
        return len(context.captured_queries)

    client.force_login(world.rep_a1)
    _my_day_rows(world, 1)
    few = home_queries()
    _my_day_rows(world, 60)
    assert home_queries() == few
    # What it needs: the session and the member (2), their teams (1), the open stages (1), open deals
    # per currency (1), going cold: the going-cold days in use and the quietest deals (2), the month's
    # target (1), the first due follow-ups and how many are due (2), the first deals closing this month and
    # how many close this month (2); the next best actions, which reuse the due follow-ups, the going-cold
    # deals and the open stages: the member's dismissals, the unhappy survey answers, the probability drops
    # and the deals with no next step (1 each); the member's open support cases (1).
    assert few <= 17


def test_marking_a_follow_up_done_with_htmx_returns_the_refreshed_list(client, world):
    follow_up = f.FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, subject="أرسل العرض", due_at=timezone.now() - timedelta(hours=1)
    )
    client.force_login(world.rep_a1)
    response = client.post(reverse("crm:follow_up_done", args=[follow_up.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="follow-up-list">')
    assert "أرسل العرض" not in html
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.DONE and follow_up.completed_at is not None


def test_someone_elses_follow_up_answers_404_and_stays_open(client, world):
    client.force_login(world.rep_a1)
    for follow_up in (world.b.follow_up, world.a2.follow_up):
        response = client.post(reverse("crm:follow_up_done", args=[follow_up.pk]))
        assert response.status_code == 404
        assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUpStatus.OPEN
    missing = client.post(reverse("crm:follow_up_done", args=[999999]))
    assert missing.status_code == 404


def test_healthz(client, db):
    assert client.get("/healthz/").json() == {"status": "ok"}


def _only_these_are_due_or_closing(world, language="en") -> None:
    """The world's own follow-up and deals of rep_a1 out of My day's lists, so the tests count only their rows;
    rep_a1 reads in `language`."""
    from accounts.models import User
    from pipeline.models import Deal

    FollowUp.objects.filter(assignee=world.rep_a1).update(due_at=timezone.now() + timedelta(days=3))
    Deal.objects.filter(owner=world.rep_a1).update(expected_close=None)
    User.objects.filter(pk=world.rep_a1.pk).update(language=language)


def _month_end():
    return (timezone.localdate().replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def test_my_day_shows_the_first_ten_of_each_long_list_and_links_to_all_of_them(client, world):
    import re
    from html import unescape

    from workspace.my_day import CLOSING_DEALS_SHOWN, FOLLOW_UPS_SHOWN

    _only_these_are_due_or_closing(world)
    now = timezone.now()
    due = [
        f.FollowUpFactory(
            assignee=world.rep_a1, team=world.team_a, subject=f"متابعة رقم {n}", due_at=now - timedelta(hours=n + 1)
        )
        for n in range(FOLLOW_UPS_SHOWN + 2)
    ]  # the last is the oldest
    not_mine = f.FollowUpFactory(assignee=world.rep_a2, team=world.team_a, due_at=now - timedelta(hours=1))
    first_day = timezone.localdate().replace(day=1)
    closing = [
        f.DealFactory(
            owner=world.rep_a1,
            team=world.team_a,
            title=f"صفقة الشهر {n}",
            stage=world.pipeline.s.proposal,
            expected_close=_month_end() - timedelta(days=n % 20),
        )
        for n in range(CLOSING_DEALS_SHOWN + 3)
    ]
    closing[0].expected_close = first_day  # the soonest
    closing[0].save(update_fields=["expected_close"])
    won = f.DealFactory(
        owner=world.rep_a1, team=world.team_a, title="صفقة رابحة", stage=world.pipeline.s.won, expected_close=first_day
    )
    next_month = f.DealFactory(
        owner=world.rep_a1,
        team=world.team_a,
        title="صفقة الشهر القادم",
        stage=world.pipeline.s.proposal,
        expected_close=_month_end() + timedelta(days=1),
    )
    colleagues = f.DealFactory(
        owner=world.rep_a2,
        team=world.team_a,
        title="صفقة الزميل",
        stage=world.pipeline.s.proposal,
        expected_close=first_day,
    )

    client.force_login(world.rep_a1)
    html = client.get(reverse("workspace:home")).content.decode()
    due_card = html[html.index('id="follow-up-list"') : html.index('id="cold-title"')]
    shown = set(re.findall(r"متابعة رقم (\d+)", due_card))
    # The oldest due first: the two most recent are left for the full list.
    assert shown == {str(n) for n in range(2, FOLLOW_UPS_SHOWN + 2)}
    closing_card = html[html.index('id="closing-title"') : html.index('id="deals-title"')]
    assert len(re.findall(r"صفقة الشهر \d+", closing_card)) == CLOSING_DEALS_SHOWN
    assert "صفقة الشهر 0" in closing_card  # the soonest to close
    assert "صفقة الشهر القادم" not in closing_card and "صفقة رابحة" not in closing_card

    # "See all N": N is the total, the link opens the full list filtered to the same records.
    links = {
        unescape(re.sub(r"<[^>]+>", "", text)).strip(): unescape(href)
        for href, text in re.findall(r'<a href="([^"]+)">(See all [^<]*(?:<[^/][^>]*>[^<]*</[^>]+>)?[^<]*)</a>', html)
    }
    follow_ups_url = links[f"See all {len(due)} follow-ups due today and overdue"]
    deals_url = links[f"See all {len(closing)} deals expected to close this month"]

    listed = client.get(follow_ups_url).content.decode()
    assert all(follow_up.subject in listed for follow_up in due)
    assert not_mine.subject not in listed and world.a1.follow_up.subject not in listed
    listed = client.get(deals_url).content.decode()
    assert all(deal.title in listed for deal in closing)
    assert won.title not in listed and next_month.title not in listed and colleagues.title not in listed


def test_my_day_without_more_than_it_shows_has_no_see_all_link(client, world):
    _only_these_are_due_or_closing(world)
    f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, due_at=timezone.now() - timedelta(hours=1))
    f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.proposal, expected_close=_month_end())
    client.force_login(world.rep_a1)
    html = client.get(reverse("workspace:home")).content.decode()
    assert "See all" not in html


def test_my_day_in_arabic_counts_in_the_members_numerals(client, world):
    from django.utils import translation

    from core import formatting
    from workspace.my_day import FOLLOW_UPS_SHOWN

    _only_these_are_due_or_closing(world, language="ar")
    for n in range(FOLLOW_UPS_SHOWN + 5):
        f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, due_at=timezone.now() - timedelta(hours=n + 1))
    client.force_login(world.rep_a1)
    html = client.get(reverse("workspace:home")).content.decode()

    with translation.override("ar"):
        fifteen = formatting.count(FOLLOW_UPS_SHOWN + 5)
    assert f"اعرض كل المتابعات المستحقة اليوم والمتأخرة، وعددها {fifteen} متابعة" in html


def test_the_next_best_actions_still_find_overdue_follow_ups_beyond_the_cards_ten(client, world):
    """Ten dismissed overdue follow-ups fill the card; the eleventh and twelfth are still suggested."""
    from assistant.next_actions_services import suggestion_dismiss
    from workspace.my_day import FOLLOW_UPS_SHOWN

    _only_these_are_due_or_closing(world)
    now = timezone.now()
    oldest_first = [
        f.FollowUpFactory(
            assignee=world.rep_a1, team=world.team_a, subject=f"متأخرة {n}", due_at=now - timedelta(days=30 - n)
        )
        for n in range(FOLLOW_UPS_SHOWN + 2)
    ]
    for follow_up in oldest_first[:FOLLOW_UPS_SHOWN]:
        suggestion_dismiss(key=f"overdue:{follow_up.pk}", by=world.rep_a1)
    client.force_login(world.rep_a1)
    html = client.get(reverse("workspace:home")).content.decode()
    for follow_up in oldest_first[FOLLOW_UPS_SHOWN:]:
        assert f'value="overdue:{follow_up.pk}"' in html


def test_the_due_list_redrawn_after_done_keeps_ten_and_the_new_total(client, world):
    from workspace.my_day import FOLLOW_UPS_SHOWN

    _only_these_are_due_or_closing(world)
    due = [
        f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, due_at=timezone.now() - timedelta(hours=n + 1))
        for n in range(FOLLOW_UPS_SHOWN + 3)
    ]
    client.force_login(world.rep_a1)
    response = client.post(reverse("crm:follow_up_done", args=[due[-1].pk]), {"from": "home"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.count('class="list__item follow-up-item') == FOLLOW_UPS_SHOWN
    assert f"See all {len(due) - 1} follow-ups due today and overdue" in html
    assert "?due=today_or_overdue" in html
