"""Every write the Django admin makes goes through the service that owns it: the same rules, the same side effects.

Each test posts the real admin form with the test client as a signed-in administrator (or a staff
manager) and looks at what the services leave behind: a rollup day marked dirty, a new place in the
sync change order, a webhook delivery in the outbox, a reminder armed again, a refusal on the form.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.forms import MultiWidget
from django.urls import reverse
from django.utils import timezone

from analytics.days import local_date
from analytics.models import RollupDay
from crm.models import Activity, Company, Contact, FollowUp, FollowUpStatus, ReminderState
from pipeline.models import Deal, StageChange
from webhooks.models import WebhookDelivery, WebhookSubscription


@pytest.fixture
def admin_client(client, world):
    world.admin.is_staff = True
    world.admin.is_superuser = True
    world.admin.save()
    client.force_login(world.admin)
    return client


@pytest.fixture
def hooks(world):
    """A subscription to every event, so each emission leaves delivery rows in the outbox."""
    from webhooks.models import WebhookEvent

    return WebhookSubscription.objects.create(
        owner=world.admin, url="https://93.184.215.14/hooks", events=list(WebhookEvent.values)
    )


def _deliveries(event: str, object_id) -> int:
    return sum(1 for delivery in WebhookDelivery.objects.filter(event=event) if delivery.payload["id"] == object_id)


def _widget(field):
    return getattr(field.widget, "widget", field.widget)  # the admin wraps related fields


def form_data(client, address: str, **changes) -> dict:
    """The POST data of the admin form at `address` as it stands (inlines included), with `changes` applied."""
    response = client.get(address)
    assert response.status_code == 200
    data = {}

    def put(form, name, field, value):
        key = form.add_prefix(name)
        if isinstance(_widget(field), MultiWidget):
            for index, part in enumerate(_widget(field).decompress(value)):
                data[f"{key}_{index}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(item) for item in value]
        elif value is not None:
            data[key] = str(value)

    form = response.context["adminform"].form
    for name, field in form.fields.items():
        put(form, name, field, form[name].value())
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = formset.management_form[name].value()
        for inline_form in formset.forms:
            for name, field in inline_form.fields.items():
                put(inline_form, name, field, inline_form[name].value())
    for name, value in changes.items():
        field = form.fields[name]
        data = {key: item for key, item in data.items() if not re.fullmatch(rf"{name}(_\d+)?", key)}
        put(form, name, field, value)
    return data


def _errors(response) -> list:
    """What an admin form refused, for the assertion message."""
    context = response.context
    if context is None or "adminform" not in context:
        return [response.status_code]
    form = context["adminform"].form
    return [form.errors, form.non_field_errors()] + [
        (inline.formset.errors, inline.formset.non_form_errors()) for inline in context["inline_admin_formsets"]
    ]


def _dirty_days(team) -> set:
    return set(RollupDay.objects.filter(team=team, is_dirty=True).values_list("day", flat=True))


# ---- activities ----


def test_admin_logged_call_marks_its_day_dirty_stamps_the_contact_and_emits_the_webhook(admin_client, world, hooks):
    contact = world.a1.contact
    seq_before = Contact.objects.get(pk=contact.pk).change_seq
    three_days_ago = timezone.now() - timedelta(days=3)
    data = form_data(
        admin_client,
        reverse("admin:crm_activity_add"),
        kind="call",
        occurred_at=timezone.localtime(three_days_ago).replace(microsecond=0),
        contact=contact.pk,
        actor=world.rep_a1.pk,
        team=world.team_a.pk,
        subject="مكالمة متأخرة",
    )
    response = admin_client.post(reverse("admin:crm_activity_add"), data)
    assert response.status_code == 302, _errors(response)

    activity = Activity.objects.get(subject="مكالمة متأخرة")
    assert (activity.actor, activity.team) == (world.rep_a1, world.team_a)
    assert local_date(world.team_a.time_zone, three_days_ago) in _dirty_days(world.team_a)
    contact.refresh_from_db()
    assert contact.change_seq > seq_before
    assert contact.last_contacted_at == activity.occurred_at
    assert _deliveries("contact.updated", contact.pk) == 1


def test_admin_moving_an_activity_marks_the_old_and_the_new_day_dirty(admin_client, world):
    activity = world.a1.activity
    five_days_ago = timezone.now() - timedelta(days=5)
    Activity.objects.filter(pk=activity.pk).update(occurred_at=five_days_ago)
    two_days_ago = timezone.localtime(timezone.now() - timedelta(days=2)).replace(microsecond=0)
    url = reverse("admin:crm_activity_change", args=[activity.pk])
    response = admin_client.post(url, form_data(admin_client, url, occurred_at=two_days_ago))
    assert response.status_code == 302, _errors(response)
    zone = world.team_a.time_zone
    assert {local_date(zone, five_days_ago), local_date(zone, two_days_ago)} <= _dirty_days(world.team_a)


def test_admin_deleting_an_activity_marks_its_day_dirty(admin_client, world):
    activity = world.a1.activity
    four_days_ago = timezone.now() - timedelta(days=4)
    Activity.objects.filter(pk=activity.pk).update(occurred_at=four_days_ago)
    response = admin_client.post(reverse("admin:crm_activity_delete", args=[activity.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Activity.objects.filter(pk=activity.pk).exists()
    assert local_date(world.team_a.time_zone, four_days_ago) in _dirty_days(world.team_a)


def test_admin_activity_for_another_teams_rep_is_refused_for_a_manager(staff_manager_client, world):
    before = Activity.objects.count()
    data = form_data(
        staff_manager_client,
        reverse("admin:crm_activity_add"),
        kind="call",
        occurred_at=timezone.localtime(timezone.now() - timedelta(hours=1)).replace(microsecond=0),
        contact=world.a1.contact.pk,
        actor=world.rep_b.pk,
        team=world.team_b.pk,
    )
    response = staff_manager_client.post(reverse("admin:crm_activity_add"), data)
    assert response.status_code == 200
    assert "لا يمكنك إسناد السجلات إلا إلى أعضاء الفرق التي تديرها." in response.content.decode()
    assert Activity.objects.count() == before


# ---- follow-ups ----


def test_admin_rescheduling_a_follow_up_arms_its_reminder_again(admin_client, world):
    follow_up = world.a1.follow_up
    FollowUp.objects.filter(pk=follow_up.pk).update(reminder_state=ReminderState.SENT)
    new_due = timezone.localtime(timezone.now() + timedelta(days=3)).replace(microsecond=0, second=0)
    url = reverse("admin:crm_followup_change", args=[follow_up.pk])
    response = admin_client.post(url, form_data(admin_client, url, due_at=new_due, remind_at=None))
    assert response.status_code == 302, _errors(response)
    follow_up.refresh_from_db()
    assert follow_up.due_at == new_due
    assert follow_up.reminder_state == ReminderState.PENDING
    assert follow_up.remind_at == new_due - timedelta(minutes=world.rep_a1.reminder_offset_minutes)


def test_admin_marking_a_follow_up_done_completes_it_through_the_service(admin_client, world):
    follow_up = world.a1.follow_up
    url = reverse("admin:crm_followup_change", args=[follow_up.pk])
    response = admin_client.post(url, form_data(admin_client, url, status=FollowUpStatus.DONE))
    assert response.status_code == 302, _errors(response)
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.DONE and follow_up.completed_at is not None


def test_admin_reopening_a_follow_up_done_on_a_past_day_marks_that_day_dirty(admin_client, world):
    follow_up = world.a1.follow_up
    done_at = timezone.now() - timedelta(days=3)
    FollowUp.objects.filter(pk=follow_up.pk).update(
        status=FollowUpStatus.DONE, completed_at=done_at, created_at=done_at - timedelta(days=2)
    )
    url = reverse("admin:crm_followup_change", args=[follow_up.pk])
    response = admin_client.post(url, form_data(admin_client, url, status=FollowUpStatus.OPEN))
    assert response.status_code == 302, _errors(response)
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.OPEN and follow_up.completed_at is None
    assert local_date(world.team_a.time_zone, done_at) in _dirty_days(world.team_a)


def test_admin_cannot_hand_a_follow_up_to_someone_outside_every_team(admin_client, world):
    from tests import factories as f

    loner = f.UserFactory(username="loner")
    follow_up = world.a1.follow_up
    url = reverse("admin:crm_followup_change", args=[follow_up.pk])
    response = admin_client.post(url, form_data(admin_client, url, assignee=loner.pk))
    assert response.status_code == 200
    assert f"لم يُضَف {loner} إلى أي فريق بعد." in response.content.decode()
    follow_up.refresh_from_db()
    assert follow_up.assignee == world.rep_a1


# ---- deals ----


def test_admin_added_deal_is_created_by_the_service(admin_client, world, hooks):
    data = form_data(
        admin_client,
        reverse("admin:pipeline_deal_add"),
        title="صفقة من لوحة الإدارة",
        owner=world.rep_a1.pk,
        team=world.team_a.pk,
        pipeline=world.pipeline.pk,
        stage=world.pipeline.s.won.pk,
        amount="1200",
        currency="SAR",
    )
    response = admin_client.post(reverse("admin:pipeline_deal_add"), data)
    assert response.status_code == 302, _errors(response)
    deal = Deal.objects.get(title="صفقة من لوحة الإدارة")
    assert deal.closed_at is not None and deal.stage_entered_at is not None
    assert deal.change_seq is not None
    [entry] = StageChange.objects.filter(deal=deal)
    assert (entry.from_stage, entry.to_stage, entry.by) == (None, world.pipeline.s.won, world.admin)
    assert _deliveries("deal.created", deal.pk) == 1
    # Won at creation: the after-sale check-ins are scheduled, as for a deal created anywhere else.
    assert FollowUp.objects.filter(deal=deal, kind="after_sale").exists()


def test_admin_deal_edit_stamps_bumps_the_version_and_emits_the_webhook(admin_client, world, hooks):
    deal = Deal.objects.get(pk=world.a1.deal.pk)
    url = reverse("admin:pipeline_deal_change", args=[deal.pk])
    response = admin_client.post(url, form_data(admin_client, url, amount="777"))
    assert response.status_code == 302, _errors(response)
    after = Deal.objects.get(pk=deal.pk)
    assert after.amount == 777
    assert after.version == deal.version + 1
    assert after.change_seq > deal.change_seq
    assert _deliveries("deal.updated", deal.pk) == 1


def test_admin_closing_a_deal_marks_its_creation_day_dirty_and_emits_won(admin_client, world, hooks):
    deal = world.a1.deal
    created = timezone.now() - timedelta(days=6)
    Deal.objects.filter(pk=deal.pk).update(created_at=created)
    url = reverse("admin:pipeline_deal_change", args=[deal.pk])
    response = admin_client.post(url, form_data(admin_client, url, stage=world.pipeline.s.won.pk))
    assert response.status_code == 302, _errors(response)
    assert local_date(world.team_a.time_zone, created) in _dirty_days(world.team_a)
    assert _deliveries("deal.won", deal.pk) == 1


# ---- companies and contacts ----


def test_admin_added_contact_is_stamped_and_announced(admin_client, world, hooks):
    data = form_data(
        admin_client,
        reverse("admin:crm_contact_add"),
        first_name="سلمى",
        owner=world.rep_a1.pk,
        team=world.team_a.pk,
        phone_raw="0501112233",
    )
    response = admin_client.post(reverse("admin:crm_contact_add"), data)
    assert response.status_code == 302, _errors(response)
    contact = Contact.objects.get(first_name="سلمى")
    assert contact.change_seq is not None and contact.phone == "+966501112233"
    assert _deliveries("contact.created", contact.pk) == 1


def test_admin_tags_change_goes_through_the_service(admin_client, world, hooks):
    from tests import factories as f

    tag = f.TagFactory(name="مهم")
    contact = Contact.objects.get(pk=world.a1.contact.pk)
    url = reverse("admin:crm_contact_change", args=[contact.pk])
    response = admin_client.post(url, form_data(admin_client, url, tags=[tag.pk]))
    assert response.status_code == 302, _errors(response)
    after = Contact.objects.get(pk=contact.pk)
    assert list(after.tags.all()) == [tag]
    assert after.version == contact.version + 1 and after.change_seq > contact.change_seq
    assert _deliveries("contact.updated", contact.pk) == 1


def test_admin_company_with_deals_is_not_deleted_and_says_why(admin_client, world):
    company = world.a1.company
    response = admin_client.post(reverse("admin:crm_company_delete", args=[company.pk]), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "تعذّر حذف شركة" in response.content.decode()  # "Cannot delete company": its deals protect it
    assert Company.objects.filter(pk=company.pk).exists()


def test_admin_bulk_delete_of_companies_goes_through_the_service_and_leaves_tombstones(admin_client, world):
    from core.models import Tombstone
    from tests import factories as f

    spare = f.CompanyFactory(owner=world.rep_a1, team=world.team_a)
    response = admin_client.post(
        reverse("admin:crm_company_changelist"),
        {"action": "delete_selected", "_selected_action": [spare.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Company.objects.filter(pk=spare.pk).exists()
    assert Tombstone.objects.filter(object_id=spare.pk).exists()


@pytest.fixture
def staff_manager_client(client, world):
    """manager_a with staff access and the model permissions, but not an administrator of Safqa."""
    world.manager_a.is_staff = True
    world.manager_a.save()
    world.manager_a.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["crm", "pipeline"]).exclude(
            codename__startswith="delete_"
        )
    )
    client.force_login(world.manager_a)
    return client


def test_admin_moving_a_contact_to_a_team_the_manager_does_not_manage_is_refused(staff_manager_client, world):
    contact = Contact.objects.get(pk=world.a1.contact.pk)
    url = reverse("admin:crm_contact_change", args=[contact.pk])
    response = staff_manager_client.post(url, form_data(staff_manager_client, url, team=world.team_b.pk))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    after = Contact.objects.get(pk=contact.pk)
    assert (after.team_id, after.version, after.change_seq) == (world.team_a.pk, contact.version, contact.change_seq)


def test_admin_giving_a_contact_to_another_teams_rep_is_refused_for_a_manager(staff_manager_client, world):
    contact = Contact.objects.get(pk=world.a1.contact.pk)
    url = reverse("admin:crm_contact_change", args=[contact.pk])
    response = staff_manager_client.post(url, form_data(staff_manager_client, url, owner=world.rep_b.pk))
    assert response.status_code == 200
    assert f"{world.rep_b} ليس من أعضاء هذا الفريق." in response.content.decode()
    assert Contact.objects.get(pk=contact.pk).owner == world.rep_a1


# ---- webhooks ----


def test_admin_subscription_to_a_private_address_is_refused(admin_client, world):
    data = form_data(
        admin_client,
        reverse("admin:webhooks_webhooksubscription_add"),
        url="http://10.0.0.8/hook",
        events=["contact.created"],
        owner=world.admin.pk,
    )
    data["events"] = '["contact.created"]'
    response = admin_client.post(reverse("admin:webhooks_webhooksubscription_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not WebhookSubscription.objects.exists()


# ---- pipelines and stages ----


def test_admin_cannot_change_the_kind_of_a_stage_that_holds_deals(admin_client, world):
    lead = world.pipeline.s.lead  # world.a1's and world.a2's deals are in it
    url = reverse("admin:pipeline_stage_change", args=[lead.pk])
    response = admin_client.post(url, form_data(admin_client, url, kind="won", probability=100))
    assert response.status_code == 200
    assert "انقل صفقات هذه المرحلة إلى مرحلة أخرى قبل تغيير نوعها." in response.content.decode()
    lead.refresh_from_db()
    assert lead.kind == "open"


def test_admin_renames_a_stage_and_adds_a_pipeline_through_the_services(admin_client, world):
    lead = world.pipeline.s.lead
    url = reverse("admin:pipeline_stage_change", args=[lead.pk])
    response = admin_client.post(url, form_data(admin_client, url, name="عميل محتمل جديد", probability=15))
    assert response.status_code == 302, _errors(response)
    lead.refresh_from_db()
    assert (lead.name, lead.probability) == ("عميل محتمل جديد", 15)

    add = reverse("admin:pipeline_pipeline_add")
    response = admin_client.post(add, form_data(admin_client, add, name="مسار التجديد", name_en="Renewals"))
    assert response.status_code == 302, _errors(response)
    from pipeline.models import Pipeline

    assert Pipeline.objects.filter(name="مسار التجديد", name_en="Renewals").exists()


def test_admin_pipeline_page_shows_stages_without_editing_them_inline(admin_client, world):
    url = reverse("admin:pipeline_pipeline_change", args=[world.pipeline.pk])
    response = admin_client.get(url)
    [inline] = response.context["inline_admin_formsets"]
    assert not inline.has_add_permission and not inline.has_change_permission and not inline.has_delete_permission


# ---- teams ----


def test_admin_changing_a_teams_time_zone_rolls_up_its_past_days_again(admin_client, world):
    from datetime import date

    from analytics.services import rollup_range

    team = world.team_a
    rollup_range(teams=[team], day_from=date(2026, 1, 1), day_to=date(2026, 1, 3))
    assert RollupDay.objects.filter(team=team, is_dirty=False).count() == 3
    url = reverse("admin:accounts_team_change", args=[team.pk])
    response = admin_client.post(url, form_data(admin_client, url, time_zone="Asia/Dubai"))
    assert response.status_code == 302, _errors(response)
    team.refresh_from_db()
    assert team.time_zone == "Asia/Dubai"
    # Every day's boundaries moved: each day rolled up so far is computed again.
    assert _dirty_days(team) >= {date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)}


def test_admin_renaming_a_team_leaves_its_days_alone(admin_client, world):
    from datetime import date

    from analytics.services import rollup_range

    team = world.team_a
    rollup_range(teams=[team], day_from=date(2026, 1, 1), day_to=date(2026, 1, 1))
    url = reverse("admin:accounts_team_change", args=[team.pk])
    response = admin_client.post(url, form_data(admin_client, url, name="فريق الرياض الجديد"))
    assert response.status_code == 302, _errors(response)
    assert _dirty_days(team) == set()


# ---- tags ----


def test_admin_deleting_a_tag_restamps_and_announces_the_records_that_wore_it(admin_client, world, hooks):
    from crm.models import Tag
    from tests import factories as f

    tag = f.TagFactory(name="مؤقت")
    contact = Contact.objects.get(pk=world.a1.contact.pk)
    company = Company.objects.get(pk=world.a1.company.pk)
    contact.tags.add(tag)
    company.tags.add(tag)
    response = admin_client.post(reverse("admin:crm_tag_delete", args=[tag.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Tag.objects.filter(pk=tag.pk).exists()
    # Their tag lists changed: syncing clients must receive them again, subscribers hear of the contact.
    after_contact, after_company = Contact.objects.get(pk=contact.pk), Company.objects.get(pk=company.pk)
    assert after_contact.change_seq > contact.change_seq and after_contact.version == contact.version + 1
    assert after_company.change_seq > company.change_seq and after_company.version == company.version + 1
    assert _deliveries("contact.updated", contact.pk) == 1


# ---- memberships ----


def test_admin_cannot_remove_a_member_who_still_owns_records_in_the_team(admin_client, world):
    from accounts.models import Membership

    membership = Membership.objects.get(user=world.rep_a1, team=world.team_a)
    response = admin_client.post(
        reverse("admin:accounts_membership_delete", args=[membership.pk]), {"post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert f"لا يزال {world.rep_a1} يملك سجلات في هذا الفريق: أسندها إلى زميل أولاً." in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_admin_adds_and_removes_a_membership_through_the_services(admin_client, world):
    from accounts.models import Membership

    add = reverse("admin:accounts_membership_add")
    response = admin_client.post(add, form_data(admin_client, add, user=world.rep_a1.pk, team=world.team_b.pk))
    assert response.status_code == 302, _errors(response)
    membership = Membership.objects.get(user=world.rep_a1, team=world.team_b)
    response = admin_client.post(reverse("admin:accounts_membership_delete", args=[membership.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_admin_team_and_user_pages_list_memberships_read_only(admin_client, world):
    for url in (
        reverse("admin:accounts_team_change", args=[world.team_a.pk]),
        reverse("admin:accounts_user_change", args=[world.rep_a1.pk]),
    ):
        [inline] = admin_client.get(url).context["inline_admin_formsets"]
        assert not inline.has_add_permission and not inline.has_change_permission and not inline.has_delete_permission
