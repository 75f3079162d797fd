"""Case pages: list with filters, opening a case, its page, status changes and work logged, My day, budgets."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import Case, CaseStatus
from crm.models import Activity
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(client, world):
    client.force_login(world.rep_a1)
    return world.rep_a1


def _case(world, **fields):
    return services.case_create(by=world.rep_a1, contact=world.a1.contact, subject="العطل المتكرر", **fields)


def _many(world, n):
    contacts = [f.ContactFactory(owner=world.rep_a1, team=world.team_a) for _ in range(3)]
    now = timezone.now()
    return f.CaseFactory.create_batch(
        n,
        owner=world.rep_a1,
        team=world.team_a,
        contact=factory_cycle(contacts),
        due_at=now - timedelta(hours=1),
    )


def factory_cycle(items):
    import factory

    return factory.Iterator(items)


def test_list_shows_visible_cases_with_filters(client, world, rep):
    mine = _case(world, priority="urgent")
    services.case_create(by=world.rep_a2, contact=world.a2.contact, subject="حالة زميل")
    response = client.get(reverse("cases:case_list"))
    assert response.status_code == 200
    assert [case.pk for case in response.context["cases"]] == [mine.pk]
    assert "حالة زميل" not in response.content.decode()
    filtered = client.get(reverse("cases:case_list"), {"priority": "low"})
    assert list(filtered.context["cases"]) == []
    assert client.get(reverse("cases:case_list"), {"overdue": "true"}).context["cases"].__len__() == 0


def test_list_query_count_does_not_grow_with_rows(client, world, rep, django_assert_max_num_queries):
    _many(world, 3)
    with django_assert_max_num_queries(9) as small:
        client.get(reverse("cases:case_list"), {"open": "true"})
    _many(world, 60)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("cases:case_list"), {"open": "true", "o": "due_at"})
    assert len(response.context["cases"]) == 25


def test_detail_query_count_does_not_grow_with_work_logged(client, world, rep, django_assert_max_num_queries):
    case = _case(world)
    services.case_log_activity(case=case, by=world.rep_a1, kind="call")
    with django_assert_max_num_queries(20) as small:
        client.get(case.get_absolute_url())
    for _ in range(40):
        f.ActivityFactory(actor=world.rep_a1, team=world.team_a, contact=world.a1.contact, case=case)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(case.get_absolute_url())
    assert len(response.context["activities"]) == 41


def test_open_a_case_from_the_contact_page_once(client, world, rep):
    page = client.get(reverse("cases:case_create"), {"contact": world.a1.contact.pk})
    form = page.context["form"]
    assert form.initial["contact"] == world.a1.contact.pk
    data = {
        "subject": "الجهاز يصدر صوتاً",
        "contact": world.a1.contact.pk,
        "deal": world.a1.deal.pk,
        "priority": "high",
        "description": "",
        "owner": world.rep_a1.pk,
        "form_token": form["form_token"].initial,
    }
    response = client.post(reverse("cases:case_create"), data)
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == case.get_absolute_url()
    assert case.deal == world.a1.deal and case.priority == "high"
    again = client.post(reverse("cases:case_create"), data)
    assert again.status_code == 302 and Case.objects.count() == 1


def test_a_form_with_errors_answers_400_with_a_translated_message(client, world, rep):
    response = client.post(
        reverse("cases:case_create"),
        {"subject": "", "contact": world.b.contact.pk, "priority": "x", "owner": world.rep_a1.pk},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"subject", "contact", "priority"} <= set(errors)
    assert any("\u0600" <= ch <= "\u06ff" for ch in str(errors["subject"]))
    assert not Case.objects.exists()


def test_status_change_and_activity_logging_on_the_page(client, world, rep):
    case = _case(world)
    page = client.get(case.get_absolute_url())
    token = page.context["activity_form"]["form_token"].initial
    logged = client.post(
        reverse("cases:case_activity", args=[case.pk]),
        {
            "activity-kind": "call",
            "activity-occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "activity-outcome": "",
            "activity-body": "شرحت الحل",
            "activity-form_token": token,
        },
    )
    assert logged.status_code == 302
    case.refresh_from_db()
    assert case.first_response_at is not None and case.status == CaseStatus.IN_PROGRESS
    assert Activity.objects.filter(case=case, body="شرحت الحل").exists()
    solved = client.post(reverse("cases:case_status", args=[case.pk]), {"status": "solved", "version": case.version})
    assert solved.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.SOLVED
    stale = client.post(reverse("cases:case_status", args=[case.pk]), {"status": "closed", "version": 1})
    assert stale.status_code == 409
    case.refresh_from_db()
    assert case.status == CaseStatus.SOLVED


def test_other_peoples_cases_answer_404(client, world, rep):
    theirs = services.case_create(by=world.rep_a2, contact=world.a2.contact, subject="x")
    assert client.get(theirs.get_absolute_url()).status_code == 404
    assert (
        client.post(reverse("cases:case_status", args=[theirs.pk]), {"status": "solved", "version": 1}).status_code
        == 404
    )
    assert client.get(reverse("cases:case_update", args=[theirs.pk])).status_code == 404


def test_a_manager_sees_and_edits_the_cases_of_their_team(client, world):
    case = _case(world)
    client.force_login(world.manager_a)
    page = client.get(case.get_absolute_url())
    assert page.status_code == 200 and page.context["can_edit"]


def test_cases_show_on_the_contact_and_deal_timelines(client, world, rep):
    case = _case(world, deal=world.a1.deal)
    for url in (world.a1.contact.get_absolute_url(), world.a1.deal.get_absolute_url()):
        body = client.get(url).content.decode()
        assert case.get_absolute_url() in body


def test_my_day_lists_my_open_cases_overdue_first(client, world, rep):
    later = _case(world, priority="low")
    late = _case(world)
    Case.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=2))
    services.case_solve(case=_case(world), by=world.rep_a1)
    services.case_create(by=world.rep_a2, contact=world.a2.contact, subject="x")
    response = client.get(reverse("workspace:home"))
    assert [case.pk for case in response.context["my_cases"]] == [late.pk, later.pk]
    assert "badge--overdue" in response.content.decode()
