"""Customer services: bad input gets a clear translated error and changes nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from crm import services
from crm.models import Activity, ActivityKind, Company, Contact, FollowUp


def test_contact_is_created_with_e164_phone_and_normalized_name(world):
    contact = services.contact_create(by=world.rep_a1, first_name="أَحمد", last_name="العتيبي", phone_raw="٠٥٠ ١٢٣ ٤٥٦٧")
    assert contact.phone == "+966501234567"
    assert contact.phone_raw == "٠٥٠ ١٢٣ ٤٥٦٧"
    assert contact.name_normalized == "احمد العتيبي"
    assert (contact.owner, contact.team) == (world.rep_a1, world.team_a)


@pytest.mark.parametrize(
    ("fields", "field", "arabic", "english"),
    [
        (
            {"first_name": "سارة", "phone_raw": "12345"},
            "phone_raw",
            "ليس رقم هاتف",
            "is not a valid phone number",
        ),
        ({"first_name": ""}, "first_name", "لا يمكن ترك هذا الحقل", "This field cannot be blank."),
        (
            {"first_name": "سارة", "email": "not-an-email"},
            "email",
            "عنوان بريد إلكتروني",
            "Enter a valid email address.",
        ),
    ],
)
def test_invalid_contact_is_refused_in_the_users_language_and_nothing_is_saved(world, fields, field, arabic, english):
    for language, expected in (("ar", arabic), ("en", english)):
        with translation.override(language):
            with pytest.raises(ValidationError) as error:
                services.contact_create(by=world.rep_a1, **fields)
            assert any(expected in message for message in error.value.message_dict[field]), error.value.message_dict
    assert Contact.objects.count() == 3


def test_rep_cannot_assign_a_contact_to_a_colleague(world):
    with pytest.raises(ValidationError) as error:
        services.contact_create(by=world.rep_a1, first_name="Sara", owner=world.rep_a2)
    assert "owner" in error.value.message_dict
    assert Contact.objects.count() == 3


def test_manager_can_assign_to_a_member_of_the_managed_team_only(world):
    contact = services.contact_create(by=world.manager_a, first_name="Sara", owner=world.rep_a2)
    assert contact.team == world.team_a
    with pytest.raises(ValidationError):
        services.contact_create(by=world.manager_a, first_name="Omar", owner=world.rep_b)


def test_contact_cannot_join_a_company_of_another_team(world):
    with pytest.raises(ValidationError) as error:
        services.contact_create(by=world.rep_a1, first_name="Omar", company=world.b.company)
    assert "company" in error.value.message_dict


def test_company_with_bad_country_code_is_refused(world):
    with translation.override("en"):
        with pytest.raises(ValidationError) as error:
            services.company_create(by=world.rep_a1, name="Al Noor", country="Saudi")
        assert "country" in error.value.message_dict
    assert not Company.objects.filter(name="Al Noor").exists()


def test_logging_a_call_updates_last_contacted_but_a_note_does_not(world):
    contact = world.a1.contact
    when = timezone.now()
    services.activity_log(by=world.rep_a1, kind=ActivityKind.NOTE, contact=contact, occurred_at=when)
    contact.refresh_from_db()
    assert contact.last_contacted_at is None
    services.activity_log(by=world.rep_a1, kind=ActivityKind.CALL, contact=contact, occurred_at=when)
    contact.refresh_from_db()
    assert contact.last_contacted_at == when
    older = when - timezone.timedelta(days=3)
    services.activity_log(by=world.rep_a1, kind=ActivityKind.MEETING, contact=contact, occurred_at=older)
    contact.refresh_from_db()
    assert contact.last_contacted_at == when  # a late-logged older call never moves it back


def test_activity_needs_something_to_be_about(world):
    before = Activity.objects.count()
    with pytest.raises(ValidationError):
        services.activity_log(by=world.rep_a1, kind=ActivityKind.CALL)
    assert Activity.objects.count() == before


def test_follow_up_reminder_defaults_to_the_assignees_offset(world):
    world.rep_a1.reminder_offset_minutes = 30
    world.rep_a1.save()
    due = timezone.now() + timezone.timedelta(days=1)
    follow_up = services.follow_up_schedule(by=world.rep_a1, subject="اتصل", due_at=due, contact=world.a1.contact)
    assert follow_up.remind_at == due - timezone.timedelta(minutes=30)
    assert follow_up.company == world.a1.company


def test_follow_up_reminder_after_due_time_is_refused(world):
    due = timezone.now()
    before = FollowUp.objects.count()
    with pytest.raises(ValidationError) as error:
        services.follow_up_schedule(
            by=world.rep_a1, subject="x", due_at=due, remind_at=due + timezone.timedelta(hours=1)
        )
    assert "remind_at" in error.value.message_dict
    assert FollowUp.objects.count() == before
