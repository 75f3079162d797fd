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
    # target (1), the follow-ups due (1), the deals closing this month (1); the next best actions, which
    # reuse the due follow-ups, the going-cold deals and the open stages: the member's dismissals, the
    # unhappy survey answers, the probability drops and the deals with no next step (1 each); the
    # member's open support cases (1).
    assert few <= 15


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
