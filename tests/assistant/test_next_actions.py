"""My day's next best actions: ranking, reasons in both languages, visibility, dismissals, query budget."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from assistant.models import DealScore, WinModel, WinModelStatus
from assistant.next_actions import next_actions
from assistant.next_actions_services import deal_score_snapshots_take, suggestion_dismiss
from assistant.planning_models import DealScoreSnapshot, SuggestionDismissal
from core import formatting
from crm.models import FollowUp, FollowUpStatus
from pipeline.models import Deal
from tests import factories as f


def _model(version=1):
    return WinModel.objects.create(version=version, trained_at=timezone.now(), status=WinModelStatus.IN_USE)


def _score(deal, probability, *, version=1, before=None, days_ago=6):
    """A stored score of `deal`, and (with `before`) its snapshot of `days_ago` days ago."""
    DealScore.objects.create(
        deal=deal,
        probability=Decimal(probability),
        base_probability=Decimal("0.3"),
        model_version=version,
        scored_at=timezone.now(),
    )
    if before is not None:
        DealScoreSnapshot.objects.create(
            deal=deal,
            day=timezone.now().date() - timedelta(days=days_ago),
            probability=Decimal(before),
            model_version=version,
        )


def _quiet(deal, days=40):
    Deal.objects.filter(pk=deal.pk).update(created_at=timezone.now() - timedelta(days=days))


def _answer(world, *, contact, deal, score, kind="csat", owner=None, hours_ago=3):
    from surveys.models import Survey, SurveyResponse, SurveyStatus, SurveyTemplate

    owner = owner or deal.owner
    template = SurveyTemplate.objects.create(name="رضا", kind=kind, question_ar="هل أنت راض؟", question_en="Happy?")
    answered = timezone.now() - timedelta(hours=hours_ago)
    survey = Survey.objects.create(
        template=template,
        kind=kind,
        contact=contact,
        deal=deal,
        team=deal.team,
        owner=owner,
        channel="email",
        language="ar",
        status=SurveyStatus.RESPONDED,
        sent_at=answered - timedelta(days=1),
        expires_at=answered + timedelta(days=13),
        responded_at=answered,
    )
    return SurveyResponse.objects.create(
        survey=survey,
        kind=kind,
        score=score,
        responded_at=answered,
        contact=contact,
        deal=deal,
        team=deal.team,
        owner=owner,
    )


@pytest.fixture
def scene(world):
    """rep_a1 with one of each kind of suggestion, on five different deals."""
    rep, team, stages = world.rep_a1, world.team_a, world.pipeline.s
    # world.a1's own deal gets a next step (a follow-up due in two hours): it stays off the list.
    f.FollowUpFactory(assignee=rep, team=team, deal=world.a1.deal, contact=world.a1.contact)
    company = f.CompanyFactory(owner=rep, team=team, name="شركة الأفق")
    contact = f.ContactFactory(owner=rep, team=team, company=company, first_name="سارة", last_name="")
    deals = {
        name: f.DealFactory(owner=rep, team=team, stage=stages.proposal, company=company, contact=contact, title=title)
        for name, title in [
            ("overdue", "توريد أجهزة"),
            ("survey", "عقد صيانة"),
            ("drop", "Fleet renewal"),
            ("cold", "تجديد الترخيص"),
            ("nostep", "مشروع التدريب"),
        ]
    }
    for name in ("overdue", "survey", "drop", "cold"):
        # An open follow-up on each, in the future (except the overdue one): they have a next step.
        f.FollowUpFactory(assignee=rep, team=team, deal=deals[name], contact=contact, subject=f"خطوة {name}")
    overdue = f.FollowUpFactory(
        assignee=rep,
        team=team,
        deal=deals["overdue"],
        contact=contact,
        subject="أرسل العرض المعدل",
        due_at=timezone.now() - timedelta(days=3),
    )
    # Recent activity on the company keeps every deal but "cold" warm; "cold" belongs to another company.
    f.ActivityFactory(actor=rep, team=team, contact=contact, company=company)
    quiet_company = f.CompanyFactory(owner=rep, team=team, name="مؤسسة الندى")
    Deal.objects.filter(pk=deals["cold"].pk).update(company=quiet_company, contact=None)
    deals["cold"].refresh_from_db()
    _quiet(deals["cold"])
    _model()
    _score(deals["drop"], "0.30", before="0.62")
    answer = _answer(world, contact=contact, deal=deals["survey"], score=2)
    return {"deals": deals, "overdue": overdue, "answer": answer, "contact": contact}


def test_suggestions_come_ranked_one_per_kind_with_their_reasons(world, scene):
    deals = scene["deals"]
    found = next_actions(user=world.rep_a1)
    assert [s.kind for s in found] == [
        "overdue_follow_up",
        "unhappy_answer",
        "probability_drop",
        "going_cold",
        "no_next_step",
    ]
    by_kind = {s.kind: s for s in found}
    assert by_kind["overdue_follow_up"].follow_up == scene["overdue"]
    assert by_kind["unhappy_answer"].answer == scene["answer"]
    assert by_kind["probability_drop"].deal == deals["drop"]
    assert by_kind["going_cold"].deal == deals["cold"]
    assert by_kind["no_next_step"].deal == deals["nostep"]
    # Arabic (the default): names isolated, values through the formatter.
    assert "\u2068أرسل العرض المعدل\u2069" in by_kind["overdue_follow_up"].reason
    assert "قبل ٣ أيام" in by_kind["overdue_follow_up"].reason or "قبل 3 أيام" in by_kind["overdue_follow_up"].reason
    before, after = formatting.percent(62, 0), formatting.percent(30, 0)
    assert f"من {before} إلى {after} هذا الأسبوع" in by_kind["probability_drop"].reason
    assert "\u2068Fleet renewal\u2069" in by_kind["probability_drop"].reason
    assert "2 من 5" in by_kind["unhappy_answer"].reason
    assert "40 يوماً" in by_kind["going_cold"].reason
    assert "\u2068مؤسسة الندى\u2069" in by_kind["going_cold"].reason
    assert "\u2068مشروع التدريب\u2069" in by_kind["no_next_step"].reason
    with translation.override("en"):
        english = {s.kind: s.reason for s in next_actions(user=world.rep_a1)}
    assert english["overdue_follow_up"].startswith("The follow-up \u2068أرسل العرض المعدل\u2069 was due 3 days ago")
    assert english["probability_drop"] == (
        "The win probability of \u2068Fleet renewal\u2069 fell from 62% to 30% this week."
    )
    assert "answered 2 out of 5 to the satisfaction survey" in english["unhappy_answer"]
    assert "for 40 days." in english["going_cold"]
    assert english["no_next_step"].endswith("has no next step scheduled.")


def test_each_suggestion_offers_its_one_tap_actions(world, scene):
    by_kind = {s.kind: s for s in next_actions(user=world.rep_a1)}
    overdue = by_kind["overdue_follow_up"]
    assert [a.kind for a in overdue.actions][:2] == ["finish_follow_up", "open_deal"]
    assert overdue.actions[0].url == reverse("crm:follow_up_finish", args=[scene["overdue"].pk])
    nostep = by_kind["no_next_step"]
    deal = scene["deals"]["nostep"]
    assert nostep.actions[0].kind == "schedule_follow_up"
    assert nostep.actions[0].url == f"{reverse('crm:follow_up_create')}?subject_type=deal&subject_id={deal.pk}"
    # The customer's channels (the contact has a phone and agreed to calls in the factory).
    channels = {a.kind for a in nostep.actions} & {"call", "whatsapp", "email"}
    assert channels, "the contact's call/WhatsApp/email actions are offered"
    assert by_kind["unhappy_answer"].actions[0].kind == "schedule_follow_up"


def test_a_deal_is_suggested_once_for_its_first_reason(world, scene):
    # The overdue follow-up's deal also loses probability and has no other open step: it stays "overdue" only.
    _score(scene["deals"]["overdue"], "0.10", before="0.90")
    found = next_actions(user=world.rep_a1)
    assert [s.deal for s in found].count(scene["deals"]["overdue"]) == 1
    assert next(s for s in found if s.deal == scene["deals"]["overdue"]).kind == "overdue_follow_up"


def test_small_drops_other_model_versions_and_old_snapshots_are_not_news(world):
    rep, team, stage = world.rep_a1, world.team_a, world.pipeline.s.proposal
    small, other_version, too_old = (f.DealFactory(owner=rep, team=team, stage=stage) for _ in range(3))
    for deal in (small, other_version, too_old):
        f.FollowUpFactory(assignee=rep, team=team, deal=deal)
    _model(1)
    _score(small, "0.50", before="0.54")
    _score(other_version, "0.20", before="0.80")
    DealScoreSnapshot.objects.filter(deal=other_version).update(model_version=0)
    _score(too_old, "0.20", before="0.80", days_ago=9)
    assert [s for s in next_actions(user=rep) if s.kind == "probability_drop"] == []


def test_a_rep_never_sees_what_is_not_theirs(world, scene):
    """rep_a2's overdue follow-up, quiet deal, deal without next step, dropped score and unhappy answer stay off rep_a1's list."""
    rep2, team = world.rep_a2, world.team_a
    stage = world.pipeline.s.proposal
    theirs = f.DealFactory(owner=rep2, team=team, stage=stage, title="صفقة الزميل")
    _quiet(theirs)
    f.FollowUpFactory(assignee=rep2, team=team, deal=theirs, due_at=timezone.now() - timedelta(days=2))
    _score(theirs, "0.1", before="0.9")
    _answer(world, contact=world.a2.contact, deal=theirs, score=1)
    other_team = f.DealFactory(owner=world.rep_b, team=world.team_b, stage=stage, title="Dubai deal")
    _quiet(other_team)
    for user in (world.rep_a1, world.rep_b):
        for suggestion in next_actions(user=user):
            assert suggestion.deal != theirs
            assert suggestion.deal is None or suggestion.deal.owner_id == user.pk
    # The manager's own My day lists the manager's own work, not the team's (they see it on the team pages).
    assert all(s.deal is None or s.deal.owner_id == world.manager_a.pk for s in next_actions(user=world.manager_a))
    assert any(s.deal == theirs for s in next_actions(user=rep2))


def test_an_unhappy_answer_leaves_the_list_once_a_follow_up_is_done(world, scene):
    assert any(s.kind == "unhappy_answer" for s in next_actions(user=world.rep_a1))
    follow_up = f.FollowUpFactory(assignee=world.rep_a1, team=world.team_a, contact=scene["contact"])
    FollowUp.objects.filter(pk=follow_up.pk).update(status=FollowUpStatus.DONE, completed_at=timezone.now())
    assert not any(s.kind == "unhappy_answer" for s in next_actions(user=world.rep_a1))


def test_a_happy_answer_is_not_suggested(world):
    deal = f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=world.pipeline.s.won)
    _answer(world, contact=world.a1.contact, deal=deal, score=7, kind="nps")
    _answer(world, contact=world.a1.contact, deal=f.DealFactory(owner=world.rep_a1, team=world.team_a), score=3)
    assert not any(s.kind == "unhappy_answer" for s in next_actions(user=world.rep_a1))


def test_a_dismissed_suggestion_stays_dismissed_for_that_member_only(client, world, scene):
    cold = next(s for s in next_actions(user=world.rep_a1) if s.kind == "going_cold")
    client.force_login(world.rep_a1)
    response = client.post(reverse("next_actions:dismiss"), {"key": cold.key}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'role="status"' in response.content.decode()
    assert SuggestionDismissal.objects.filter(user=world.rep_a1, key=cold.key).exists()
    assert cold.key not in {s.key for s in next_actions(user=world.rep_a1)}
    # Twice is once.
    suggestion_dismiss(key=cold.key, by=world.rep_a1)
    assert SuggestionDismissal.objects.filter(key=cold.key).count() == 1
    # Page reload: still gone, the other kinds still there.
    html = client.get(reverse("workspace:home")).content.decode()
    assert f'value="{cold.key}"' not in html
    assert "مشروع التدريب" in html


def test_a_new_situation_on_a_dismissed_deal_is_a_new_suggestion(world, scene):
    nostep = next(s for s in next_actions(user=world.rep_a1) if s.kind == "no_next_step")
    suggestion_dismiss(key=nostep.key, by=world.rep_a1)
    assert nostep.key not in {s.key for s in next_actions(user=world.rep_a1)}
    Deal.objects.filter(pk=nostep.deal.pk).update(stage=world.pipeline.s.lead)
    again = [s for s in next_actions(user=world.rep_a1) if s.kind == "no_next_step"]
    assert [s.deal for s in again] == [nostep.deal]
    assert again[0].key != nostep.key


def test_dismissing_a_suggestion_about_an_invisible_record_answers_404(client, world):
    theirs = f.DealFactory(owner=world.rep_b, team=world.team_b, stage=world.pipeline.s.proposal)
    client.force_login(world.rep_a1)
    response = client.post(reverse("next_actions:dismiss"), {"key": f"nostep:{theirs.pk}:{theirs.stage_id}"})
    assert response.status_code == 404
    assert not SuggestionDismissal.objects.exists()


def test_dismissing_a_malformed_key_answers_400_and_stores_nothing(client, world):
    client.force_login(world.rep_a1)
    for key in ("", "nostep:abc", "drop:1", "x" * 200, "cold:1:2026-13"):
        response = client.post(reverse("next_actions:dismiss"), {"key": key})
        assert response.status_code == 400
    assert not SuggestionDismissal.objects.exists()


def test_dismiss_without_htmx_returns_to_my_day(client, world, scene):
    key = next_actions(user=world.rep_a1)[0].key
    client.force_login(world.rep_a1)
    response = client.post(reverse("next_actions:dismiss"), {"key": key})
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace:home")


def test_dismiss_needs_a_post_and_a_signed_in_member(client, world):
    assert client.post(reverse("next_actions:dismiss"), {"key": "overdue:1"}).status_code == 302
    client.force_login(world.rep_a1)
    assert client.get(reverse("next_actions:dismiss")).status_code == 405


def test_my_day_shows_the_next_best_actions_with_dismiss_and_actions(client, world, scene):
    client.force_login(world.rep_a1)
    html = client.get(reverse("workspace:home")).content.decode()
    assert "الخطوة التالية المقترحة" in html or "الخطوات التالية المقترحة" in html
    assert 'hx-post="/my-day/suggestions/dismiss/"' in html
    assert reverse("crm:follow_up_finish", args=[scene["overdue"].pk]) in html
    assert "<script>" not in html and "style=" not in html


def test_a_follow_up_done_on_my_day_redraws_the_suggestions_without_it(client, world, scene):
    """Marking a follow-up done from My day's due list tells the page (HX-Trigger) to redraw the
    suggestions, and the redrawn section no longer offers that follow-up."""
    overdue = scene["overdue"]
    client.force_login(world.rep_a1)
    html = client.get(reverse("workspace:home")).content.decode()
    section_url = reverse("next_actions:section")
    assert f'hx-get="{section_url}"' in html and 'hx-trigger="follow-ups-changed from:body"' in html
    before = client.get(section_url, HTTP_HX_REQUEST="true").content.decode()
    assert "أرسل العرض المعدل" in before

    done = client.post(reverse("crm:follow_up_done", args=[overdue.pk]), {"from": "home"}, HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    assert done["HX-Trigger"] == "follow-ups-changed"
    overdue.refresh_from_db()
    assert overdue.status == FollowUpStatus.DONE
    after = client.get(section_url, HTTP_HX_REQUEST="true")
    assert after.status_code == 200
    assert 'id="next-actions"' in after.content.decode()
    assert "أرسل العرض المعدل" not in after.content.decode()


def test_the_suggestions_section_alone_is_for_htmx_and_signed_in_members(client, world):
    section_url = reverse("next_actions:section")
    assert client.get(section_url, HTTP_HX_REQUEST="true").status_code == 302  # to the sign-in page
    client.force_login(world.rep_a1)
    response = client.get(section_url)
    assert response.status_code == 302 and response["Location"] == reverse("workspace:home")
    assert client.post(section_url, HTTP_HX_REQUEST="true").status_code == 405


def _rows(world, count):
    """`count` of every kind of suggestion for rep_a1."""
    rep, team, stage = world.rep_a1, world.team_a, world.pipeline.s.proposal
    for n in range(count):
        contact = f.ContactFactory(owner=rep, team=team)
        overdue = f.DealFactory(owner=rep, team=team, stage=stage, contact=contact)
        f.FollowUpFactory(
            assignee=rep, team=team, deal=overdue, contact=contact, due_at=timezone.now() - timedelta(hours=n + 1)
        )
        _quiet(f.DealFactory(owner=rep, team=team, stage=stage, contact=contact))
        dropped = f.DealFactory(owner=rep, team=team, stage=stage, contact=contact)
        f.FollowUpFactory(assignee=rep, team=team, deal=dropped)
        _score(dropped, "0.2", before="0.7")
        f.DealFactory(owner=rep, team=team, stage=stage)
        _answer(world, contact=contact, deal=f.DealFactory(owner=rep, team=team, stage=world.pipeline.s.won), score=1)


def test_query_count_does_not_grow_with_rows(world):
    _model()
    f.FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, deal=world.a1.deal
    )  # world's own deal has its next step

    def queries(**limits) -> tuple[int, int]:
        member = type(world.rep_a1).objects.get(pk=world.rep_a1.pk)  # a fresh object: its scope is read again
        with CaptureQueriesContext(connection) as context:
            found = next_actions(user=member, **limits)
        return len(context.captured_queries), len(found)

    everything = {"limit": 1000, "per_kind": 100}  # every source is read, whatever the rows
    _rows(world, 1)
    few, shown_few = queries(**everything)
    few_default, _shown = queries()
    _rows(world, 25)
    suggestion_dismiss(key=next_actions(user=world.rep_a1)[0].key, by=world.rep_a1)
    many, shown_many = queries(**everything)
    assert shown_few == 5 and shown_many == 5 * 26 - 1
    assert many == few
    # Dismissals (1), the open stages (1), overdue (1), unhappy answers (1), drops (1), going cold (2: the
    # going-cold days in use, the quiet deals), no next step (1), the scope (1).
    assert few <= 9
    # The short list stops reading once it is full.
    many_default, shown_default = queries()
    assert shown_default == 8 and many_default <= few_default


def test_snapshots_copy_todays_scores_once_and_drop_the_old(world):
    _model()
    deal = world.a1.deal
    _score(deal, "0.40")
    today = timezone.now().date()
    DealScoreSnapshot.objects.create(
        deal=deal, day=today - timedelta(days=9), probability=Decimal("0.5"), model_version=1
    )
    assert deal_score_snapshots_take(day=today) == 1
    DealScore.objects.filter(deal=deal).update(probability=Decimal("0.35"))
    deal_score_snapshots_take(day=today)
    snapshots = list(DealScoreSnapshot.objects.values_list("day", "probability"))
    assert snapshots == [(today, Decimal("0.3500"))]


def test_the_snapshot_task_runs_in_the_worker(world, eager_celery):
    from assistant.planning_tasks import deal_score_snapshots_take as task

    _model()
    _score(world.a1.deal, "0.40")
    assert task.delay().get() == 1
    assert DealScoreSnapshot.objects.get().day == timezone.now().date()


def test_no_next_step_comes_soonest_expected_close_first_and_undated_last(world):
    rep, team, pipeline = world.rep_a1, world.team_a, world.pipeline
    today = timezone.localdate()
    undated = f.DealFactory(owner=rep, team=team, stage=pipeline.s.lead, expected_close=None, title="بلا موعد")
    later = f.DealFactory(owner=rep, team=team, stage=pipeline.s.proposal, expected_close=today + timedelta(days=30))
    sooner = f.DealFactory(owner=rep, team=team, stage=pipeline.s.lead, expected_close=today + timedelta(days=3))
    # Closed deals and others' deals have no next step to take, however soon they were to close.
    f.DealFactory(owner=rep, team=team, stage=pipeline.s.won, expected_close=today - timedelta(days=1))
    f.DealFactory(owner=world.rep_a2, team=team, stage=pipeline.s.lead, expected_close=today)
    # Two created on the same expected close come oldest first.
    twin_old = f.DealFactory(owner=rep, team=team, stage=pipeline.s.lead, expected_close=today + timedelta(days=30))
    Deal.objects.filter(pk=twin_old.pk).update(created_at=later.created_at - timedelta(days=1))
    found = [
        suggestion.deal.pk
        for suggestion in next_actions(user=rep, limit=1000, per_kind=100)
        if suggestion.kind == "no_next_step"
    ]
    mine = [pk for pk in found if pk in {undated.pk, later.pk, sooner.pk, twin_old.pk}]
    assert mine == [sooner.pk, twin_old.pk, later.pk, undated.pk]
    assert all(Deal.objects.get(pk=pk).owner_id == rep.pk for pk in found)
    assert all(Deal.objects.get(pk=pk).stage.kind == "open" for pk in found)
