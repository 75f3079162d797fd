"""Logging activities, the timeline, and follow-ups: schedule, list, done, snooze, reschedule, reassign."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.querysets import scope_of
from crm.models import Activity, ActivityKind, FollowUp, FollowUpStatus, ReminderState
from crm.selectors import timeline
from pipeline import services as deal_services
from tests import factories as f


def log(client, kind, pk, htmx=True, **data):
    payload = {
        "subject_type": kind,
        "subject_id": pk,
        "activity-kind": "call",
        "activity-occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "activity-outcome": "connected",
        "activity-body": "ناقشنا العرض",
        **data,
    }
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("crm:activity_log"), payload, **headers)


def test_logging_a_call_on_a_contact_returns_the_panel_and_updates_last_contacted(client, world):
    client.force_login(world.rep_a1)
    contact = world.a1.contact
    response = log(client, "contact", contact.pk)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="activity-panel"' in html and "ناقشنا العرض" in html
    contact.refresh_from_db()
    assert contact.last_contacted_at is not None
    activity = Activity.objects.filter(contact=contact).latest("pk")
    assert (activity.kind, activity.actor, activity.company) == (ActivityKind.CALL, world.rep_a1, world.a1.company)


def test_logging_on_a_deal_links_its_contact_and_company(client, world):
    client.force_login(world.rep_a1)
    deal = world.a1.deal
    assert log(client, "deal", deal.pk).status_code == 200
    activity = Activity.objects.filter(deal=deal).latest("pk")
    assert (activity.contact, activity.company) == (deal.contact, deal.company)


def test_bad_activity_is_refused_in_arabic_and_nothing_is_saved(client, world):
    client.force_login(world.rep_a1)
    before = Activity.objects.count()
    response = log(client, "contact", world.a1.contact.pk, **{"activity-kind": "", "activity-occurred_at": "غدا"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "هذا الحقل مطلوب" in html
    future = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = log(client, "contact", world.a1.contact.pk, **{"activity-occurred_at": future})
    assert response.status_code == 422
    assert "جدول متابعة" in response.content.decode()
    assert Activity.objects.count() == before


def test_without_javascript_a_bad_activity_gets_a_page_with_errors(client, world):
    client.force_login(world.rep_a1)
    response = log(client, "company", world.a1.company.pk, htmx=False, **{"activity-kind": ""})
    assert response.status_code == 400
    assert "هذا الحقل مطلوب" in response.content.decode()


@pytest.mark.parametrize("kind", ["contact", "company", "deal"])
def test_activity_on_another_teams_record_answers_404(client, world, kind):
    client.force_login(world.rep_a1)
    target = getattr(world.b, kind)
    before = Activity.objects.count()
    assert log(client, kind, target.pk).status_code == 404
    assert log(client, "nonsense", 1).status_code == 404
    assert Activity.objects.count() == before


def test_timeline_merges_activities_stage_changes_and_follow_ups_newest_first(world):
    deal = deal_services.deal_create(
        by=world.rep_a1, title="ترخيص", amount="100", currency="SAR", pipeline=world.pipeline, contact=world.a1.contact
    )
    deal_services.deal_move_to_stage(deal=deal, stage=world.pipeline.s.proposal, by=world.rep_a1)
    entries = timeline(user=world.rep_a1, contact=world.a1.contact)
    kinds = [entry["kind"] for entry in entries]
    assert {"activity", "stage_change", "follow_up"} <= set(kinds)
    times = [entry["at"] for entry in entries]
    assert times == sorted(times, reverse=True)


def test_timeline_never_shows_a_colleagues_private_records(world):
    """Rep A2 sees A1's contact (same team) but not A1's own activities, deals or follow-ups on it."""
    entries = timeline(user=world.rep_a2, contact=world.a1.contact)
    assert entries == []
    assert len(timeline(user=world.manager_a, contact=world.a1.contact)) >= 2


def test_contact_timeline_query_count_does_not_grow(world, django_assert_max_num_queries):
    for n in range(80):
        f.ActivityFactory(
            actor=world.rep_a1,
            team=world.team_a,
            contact=world.a1.contact,
            occurred_at=timezone.now() - timedelta(hours=n),
        )
        f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, contact=world.a1.contact)
        f.CaseFactory(owner=world.rep_a1, team=world.team_a, contact=world.a1.contact)
    scope_of(world.rep_a1)  # the visibility scope, read once per user object (in a request: by then already read)
    # One query per source: activities, stage changes, follow-ups, support cases, survey answers.
    with django_assert_max_num_queries(5):
        entries = timeline(user=world.rep_a1, contact=world.a1.contact)
    assert len(entries) == 200  # the limit
    assert sum(entry["kind"] == "case" for entry in entries) == 80


def schedule(client, kind, pk, htmx=True, **data):
    due = (timezone.localtime() + timedelta(days=1)).replace(hour=10, minute=30)
    payload = {
        "subject_type": kind,
        "subject_id": pk,
        "follow_up-subject": "أرسل عرض السعر",
        "follow_up-due_at": due.strftime("%Y-%m-%dT%H:%M"),
        "follow_up-assignee": data.pop("assignee", ""),
        "follow_up-notes": "",
        **data,
    }
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("crm:follow_up_create"), payload, **headers)


def test_scheduling_from_a_contact_uses_the_users_time_zone(client, world):
    world.rep_a1.time_zone = "Asia/Dubai"
    world.rep_a1.save()
    client.force_login(world.rep_a1)
    response = schedule(client, "contact", world.a1.contact.pk, assignee=world.rep_a1.pk)
    assert response.status_code == 200
    follow_up = FollowUp.objects.get(subject="أرسل عرض السعر")
    local = timezone.localtime(follow_up.due_at, timezone=__import__("zoneinfo").ZoneInfo("Asia/Dubai"))
    assert (local.hour, local.minute) == (10, 30)
    assert (follow_up.contact, follow_up.company, follow_up.assignee) == (
        world.a1.contact,
        world.a1.company,
        world.rep_a1,
    )


def test_follow_up_can_go_to_a_teammate_but_not_another_team(client, world):
    client.force_login(world.rep_a1)
    assert schedule(client, "contact", world.a1.contact.pk, assignee=world.rep_a2.pk).status_code == 200
    assert FollowUp.objects.get(subject="أرسل عرض السعر").assignee == world.rep_a2
    response = schedule(client, "contact", world.a1.contact.pk, assignee=world.rep_b.pk)
    assert response.status_code == 422
    assert FollowUp.objects.filter(subject="أرسل عرض السعر").count() == 1


def test_follow_up_without_subject_or_due_is_refused(client, world):
    client.force_login(world.rep_a1)
    before = FollowUp.objects.count()
    response = schedule(
        client,
        "contact",
        world.a1.contact.pk,
        assignee=world.rep_a1.pk,
        **{"follow_up-subject": "", "follow_up-due_at": ""},
    )
    assert response.status_code == 422
    html = response.content.decode()
    # Under each of the two fields, and again in the error summary that links to them.
    assert html.count('<ul class="field__errors"') == 2
    assert html.count("هذا الحقل مطلوب") == 4
    assert 'href="#id_follow_up-subject"' in html and 'href="#id_follow_up-due_at"' in html
    response = schedule(client, "contact", world.a1.contact.pk, htmx=False, **{"follow_up-subject": ""})
    assert response.status_code == 400
    assert FollowUp.objects.count() == before


def test_follow_up_list_shows_mine_open_by_default_and_filters(client, world):
    now = timezone.now()
    overdue = f.FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, subject="متأخرة", due_at=now - timedelta(days=1)
    )
    later = f.FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, subject="موعد بعيد", due_at=now + timedelta(days=20)
    )
    done = f.FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, subject="منجزة", status=FollowUpStatus.DONE, completed_at=now
    )
    client.force_login(world.rep_a1)
    html = client.get(reverse("crm:follow_up_list")).content.decode()
    assert overdue.subject in html and later.subject in html and done.subject not in html
    assert world.a2.follow_up.subject not in html
    html = client.get(reverse("crm:follow_up_list"), {"due": "overdue"}).content.decode()
    assert overdue.subject in html and later.subject not in html
    html = client.get(reverse("crm:follow_up_list"), {"status": "done"}).content.decode()
    assert done.subject in html and overdue.subject not in html


def test_manager_sees_a_members_follow_ups_but_a_rep_cannot_pick_another_team(client, world):
    client.force_login(world.manager_a)
    html = client.get(reverse("crm:follow_up_list"), {"assignee": world.rep_a2.pk}).content.decode()
    assert world.a2.follow_up.subject in html
    client.force_login(world.rep_a1)
    response = client.get(reverse("crm:follow_up_list"), {"assignee": world.rep_b.pk})
    assert world.b.follow_up.subject not in response.content.decode()


def test_follow_up_list_query_count_is_bounded(client, world, django_assert_max_num_queries):
    for n in range(60):
        contact = f.ContactFactory(owner=world.rep_a1, team=world.team_a)
        f.FollowUpFactory(
            assignee=world.rep_a1, team=world.team_a, contact=contact, due_at=timezone.now() + timedelta(hours=n)
        )
    client.force_login(world.rep_a1)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("crm:follow_up_list"))
    assert response.status_code == 200


def test_snooze_moves_to_tomorrow_morning_and_rearms_the_reminder(client, world):
    follow_up = world.a1.follow_up
    FollowUp.objects.filter(pk=follow_up.pk).update(reminder_state=ReminderState.SENT)
    client.force_login(world.rep_a1)
    response = client.post(
        reverse("crm:follow_up_snooze", args=[follow_up.pk]), {"from": "list"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<tr id="follow-up-{follow_up.pk}"')
    follow_up.refresh_from_db()
    local = timezone.localtime(follow_up.due_at)
    assert local.date() == timezone.localdate() + timedelta(days=1)
    assert (local.hour, local.minute) == (9, 0)
    assert follow_up.reminder_state == ReminderState.PENDING


def test_reschedule_and_reassign_through_the_edit_page(client, world):
    follow_up = world.a1.follow_up
    client.force_login(world.rep_a1)
    new_due = (timezone.localtime() + timedelta(days=3)).replace(hour=14, minute=0)
    response = client.post(
        reverse("crm:follow_up_update", args=[follow_up.pk]),
        {
            "follow_up-subject": "اتصل بعد الاجتماع",
            "follow_up-due_at": new_due.strftime("%Y-%m-%dT%H:%M"),
            "follow_up-assignee": world.rep_a2.pk,
            "follow_up-notes": "",
        },
    )
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.subject == "اتصل بعد الاجتماع"
    assert follow_up.assignee == world.rep_a2
    assert timezone.localtime(follow_up.due_at).hour == 14
    # It is A2's now: A1 can no longer edit it.
    assert client.get(reverse("crm:follow_up_update", args=[follow_up.pk])).status_code == 404


def test_reassigning_to_another_team_is_refused_and_changes_nothing(client, world):
    follow_up = world.a1.follow_up
    client.force_login(world.rep_a1)
    response = client.post(
        reverse("crm:follow_up_update", args=[follow_up.pk]),
        {
            "follow_up-subject": "x",
            "follow_up-due_at": "2030-01-01T10:00",
            "follow_up-assignee": world.rep_b.pk,
        },
    )
    assert response.status_code == 400
    follow_up.refresh_from_db()
    assert follow_up.assignee == world.rep_a1 and follow_up.subject != "x"


@pytest.mark.parametrize("action", ["follow_up_done", "follow_up_snooze", "follow_up_reopen", "follow_up_update"])
def test_follow_up_actions_on_someone_elses_follow_up_answer_404(client, world, action):
    client.force_login(world.rep_a1)
    for other in (world.a2.follow_up, world.b.follow_up):
        response = client.post(reverse(f"crm:{action}", args=[other.pk]))
        assert response.status_code == 404
        other.refresh_from_db()
        assert other.status == FollowUpStatus.OPEN


def test_my_day_shows_closing_this_month_and_going_cold(client, world):
    today = timezone.localdate()
    closing = f.DealFactory(
        owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.lead, title="صفقة الشهر", expected_close=today
    )
    f.DealFactory(
        owner=world.rep_a1,
        team=world.team_a,
        stage=world.pipeline.s.lead,
        title="صفقة بعيدة",
        expected_close=today + timedelta(days=70),
    )
    quiet_company = f.CompanyFactory(owner=world.rep_a1, team=world.team_a, name="مؤسسة الصمت")
    quiet = f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.lead, company=quiet_company)
    # created long ago, no activity since
    type(quiet).objects.filter(pk=quiet.pk).update(created_at=timezone.now() - timedelta(days=30))
    client.force_login(world.rep_a1)

    def card(html, title_id):
        # One card of My day: the next best actions above may name the same deals for other reasons.
        return html.split(f'aria-labelledby="{title_id}"', 1)[1].split("</section>", 1)[0]

    html = client.get(reverse("workspace:home")).content.decode()
    assert closing.title in card(html, "closing-title") and "صفقة بعيدة" not in card(html, "closing-title")
    assert "مؤسسة الصمت" in card(html, "cold-title")
    # A call logged on the company warms it up again.
    f.ActivityFactory(actor=world.rep_a1, team=world.team_a, contact=None, company=quiet_company)
    html = client.get(reverse("workspace:home")).content.decode()
    assert "مؤسسة الصمت" not in card(html, "cold-title")


def test_follow_up_list_due_today_or_overdue_is_my_days_list(client, world):
    """`due=today_or_overdue`: my open follow-ups due before the end of today (My day's "See all" link)."""
    from crm.selectors import end_of_today

    now = timezone.now()
    overdue = f.FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, subject="متأخرة منذ أسبوع", due_at=now - timedelta(days=7)
    )
    later_today = f.FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, subject="آخر اليوم", due_at=end_of_today() - timedelta(seconds=1)
    )
    tomorrow = f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, subject="أول الغد", due_at=end_of_today())
    done = f.FollowUpFactory(
        assignee=world.rep_a1,
        team=world.team_a,
        subject="منجزة متأخرة",
        due_at=now - timedelta(days=2),
        status=FollowUpStatus.DONE,
        completed_at=now,
    )
    client.force_login(world.rep_a1)
    html = client.get(reverse("crm:follow_up_list"), {"due": "today_or_overdue"}).content.decode()
    assert overdue.subject in html and later_today.subject in html
    assert tomorrow.subject not in html and done.subject not in html
    assert world.a2.follow_up.subject not in html
    # "overdue" alone leaves out what is due later today.
    html = client.get(reverse("crm:follow_up_list"), {"due": "overdue"}).content.decode()
    assert overdue.subject in html and later_today.subject not in html
