"""Support case services: due times per priority, first response, status changes, side effects, visibility."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from analytics.models import RollupDay
from cases import services
from cases.models import Case, CaseStatus
from crm.models import Activity
from tests import factories as f
from webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db


def _open(world, who=None, **fields):
    who = who or world.rep_a1
    contact = world.a1.contact if who != world.rep_a2 else world.a2.contact
    return services.case_create(by=who, contact=contact, subject="الطابعة لا تطبع", **fields)


@pytest.mark.parametrize(("priority", "hours"), [("urgent", 4), ("high", 8), ("normal", 24), ("low", 72)])
def test_due_time_is_creation_plus_the_priority_response_target(world, priority, hours):
    case = _open(world, priority=priority)
    assert case.due_at - case.created_at == pytest.approx(timedelta(hours=hours), abs=timedelta(seconds=1))


def test_response_targets_come_from_settings(world, settings):
    settings.CASE_RESPONSE_HOURS = {**settings.CASE_RESPONSE_HOURS, "urgent": 1}
    case = _open(world, priority="urgent")
    assert case.due_at - case.created_at == pytest.approx(timedelta(hours=1), abs=timedelta(seconds=1))


def test_changing_the_priority_moves_the_due_time_from_the_opening(world):
    case = _open(world, priority="low")
    case = services.case_update(case=case, by=world.rep_a1, priority="urgent")
    assert case.due_at - case.created_at == pytest.approx(timedelta(hours=4), abs=timedelta(seconds=1))
    assert case.version == 2


def test_a_new_case_takes_the_contacts_company_and_team(world):
    case = _open(world)
    assert case.company == world.a1.company
    assert case.team == world.team_a
    assert case.owner == world.rep_a1
    assert case.status == CaseStatus.NEW
    assert case.change_seq > 0


def test_a_contact_of_another_team_is_refused(world):
    with pytest.raises(ValidationError) as error:
        services.case_create(
            by=world.admin, contact=world.b.contact, subject="x", team=world.team_a, owner=world.rep_a1
        )
    assert "contact" in error.value.message_dict
    assert not Case.objects.exists()


def test_an_unknown_priority_is_refused(world):
    with pytest.raises(ValidationError):
        _open(world, priority="whenever")
    assert not Case.objects.exists()


def test_the_first_logged_activity_is_the_first_response(world):
    case = _open(world)
    first = services.case_log_activity(case=case, by=world.rep_a1, kind="call", body="اتصلت بالعميل")
    case.refresh_from_db()
    assert case.first_response_at == first.occurred_at
    assert case.status == CaseStatus.IN_PROGRESS
    assert first.case_id == case.pk and first.contact_id == case.contact_id
    later = timezone.now() + timedelta(minutes=1)
    services.case_log_activity(case=case, by=world.rep_a1, kind="note", occurred_at=later)
    case.refresh_from_db()
    assert case.first_response_at == first.occurred_at
    assert Activity.objects.filter(case=case).count() == 2


def test_solving_stamps_solved_at_and_reopening_clears_it(world):
    case = _open(world)
    case = services.case_solve(case=case, by=world.rep_a1)
    assert case.status == CaseStatus.SOLVED and case.solved_at is not None
    case = services.case_change_status(case=case, by=world.rep_a1, status=CaseStatus.CLOSED)
    assert case.closed_at is not None and case.solved_at is not None
    case = services.case_change_status(case=case, by=world.rep_a1, status=CaseStatus.IN_PROGRESS)
    assert case.solved_at is None and case.closed_at is None


def test_a_stale_version_is_refused_and_changes_nothing(world):
    from core.exceptions import StaleVersionError

    case = _open(world)
    services.case_update(case=case, by=world.rep_a1, subject="تغيير")
    with pytest.raises(StaleVersionError):
        services.case_solve(case=case, by=world.rep_a1, expected_version=1)
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW and case.version == 2


def test_a_survey_is_only_sent_when_solving(world):
    case = _open(world)
    with pytest.raises(ValidationError):
        services.case_change_status(case=case, by=world.rep_a1, status=CaseStatus.IN_PROGRESS, survey_template=object())


def test_writes_emit_webhook_events_to_subscribers_who_may_see_the_case(world):
    WebhookSubscription.objects.create(
        owner=world.manager_a, url="https://93.184.215.14/h", events=["case.created", "case.updated", "case.solved"]
    )
    WebhookSubscription.objects.create(owner=world.manager_b, url="https://93.184.215.14/b", events=["case.created"])
    case = _open(world)
    services.case_update(case=case, by=world.rep_a1, description="تفاصيل")
    services.case_solve(case=case, by=world.rep_a1)
    events = list(WebhookDelivery.objects.order_by("pk").values_list("event", "subscription__owner__username"))
    assert events == [
        ("case.created", "manager_a"),
        ("case.updated", "manager_a"),
        ("case.updated", "manager_a"),
        ("case.solved", "manager_a"),
    ]
    payload = WebhookDelivery.objects.filter(event="case.solved").get().payload
    assert payload["data"]["status"] == "solved" and payload["id"] == case.pk


def test_reopening_a_case_solved_yesterday_marks_that_day_dirty(world):
    case = _open(world)
    yesterday = timezone.now() - timedelta(days=1)
    Case.objects.filter(pk=case.pk).update(
        created_at=yesterday - timedelta(hours=1), solved_at=yesterday, status="solved"
    )
    case.refresh_from_db()
    services.case_change_status(case=case, by=world.rep_a1, status=CaseStatus.IN_PROGRESS)
    from analytics.days import local_date

    day = local_date(world.team_a.time_zone, yesterday)
    assert RollupDay.objects.filter(team=world.team_a, day=day, is_dirty=True).exists()


def test_deleting_leaves_a_tombstone_and_keeps_the_activities(world):
    from core.models import Tombstone

    case = _open(world)
    activity = services.case_log_activity(case=case, by=world.rep_a1, kind="call")
    services.case_delete(case=case, by=world.rep_a1)
    assert Tombstone.objects.filter(model="cases.case", object_id=case.pk).exists()
    activity.refresh_from_db()
    assert activity.case_id is None


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [
        ("rep_a1", {"a1"}),
        ("rep_a2", {"a2"}),
        ("manager_a", {"a1", "a2"}),
        ("rep_b", set()),
        ("manager_b", set()),
        ("admin", {"a1", "a2"}),
    ],
)
def test_cases_are_visible_as_deals_are(world, viewer, sees):
    cases = {"a1": _open(world, world.rep_a1), "a2": _open(world, world.rep_a2)}
    visible = set(Case.objects.visible_to(getattr(world, viewer)).values_list("pk", flat=True))
    assert visible == {cases[name].pk for name in sees}
    editable = set(Case.objects.editable_by(getattr(world, viewer)).values_list("pk", flat=True))
    assert editable == visible


def test_a_rep_cannot_give_a_case_to_a_colleague(world):
    with pytest.raises(ValidationError):
        _open(world, owner=world.rep_a2)
    assert not Case.objects.exists()


def test_factory_builds_a_valid_case(world):
    case = f.CaseFactory(owner=world.rep_a1, team=world.team_a, contact=world.a1.contact)
    case.full_clean()


def test_moving_a_case_to_another_contact_takes_their_company(world):
    case = _open(world)
    other = f.ContactFactory(owner=world.rep_a1, team=world.team_a, company=None)
    case = services.case_update(case=case, by=world.rep_a1, contact=other)
    assert case.contact == other and case.company is None
