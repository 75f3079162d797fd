"""Every page and every email writes each kind of value one way per language (core.formatting).

Signed in as a rep and as a manager, in Arabic and in English, every main page is read as a
person sees it (text, not markup): no month-first or slashed dates, one decimal mark per page,
no decimals on counts; and the member's digit choice and Hijri dates reach the pages and emails.
"""

import datetime as dt
import html as html_lib
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Quota, QuotaPeriod
from tests import factories as f

SLASHED_DATE = re.compile(r"\b\d{1,4}\s*/\s*\d{1,2}\s*/\s*\d{2,4}\b")
COMMA_DECIMAL = re.compile(r"\d,\d{1,2}(?!\d)")
ARABIC_COMMA_DECIMAL = re.compile(r"[٠-٩]٬[٠-٩]{1,2}(?![٠-٩])")
POINT_DECIMAL = re.compile(r"\d\.\d")
# A count written with a decimal: "12.0" not followed by a percent sign or more digits.
COUNT_WITH_DECIMAL = re.compile(r"(?<![\d.,])\d+\.0(?![\d%٪])")
MARKS = re.compile("[\u2066-\u2069\u200e\u200f\u061c]")


def visible_text(content: str) -> str:
    """What a reader sees: no scripts, styles, tags or direction marks."""
    body = re.sub(r"<(script|style|template)\b.*?</\1>", " ", content, flags=re.S | re.I)
    body = re.sub(r"<[^>]+>", " ", body)
    return plain(html_lib.unescape(body))


def plain(text: str) -> str:
    """Text without direction marks and web addresses (a host like 127.0.0.1 is no number)."""
    return re.sub(r"https?://\S+", " ", MARKS.sub("", text))


def assert_one_format(text: str, where: str) -> None:
    assert not SLASHED_DATE.search(text), (where, SLASHED_DATE.search(text).group(0))
    assert not COMMA_DECIMAL.search(text), (where, COMMA_DECIMAL.search(text).group(0))
    assert not COUNT_WITH_DECIMAL.search(text), (where, COUNT_WITH_DECIMAL.search(text).group(0))
    if ARABIC_COMMA_DECIMAL.search(text):
        pytest.fail(f"{where}: Arabic thousands sign used as a decimal mark")


@pytest.fixture
def busy_world(world):
    """The shared world plus values of every kind: amounts with decimals, won and lost deals, a target, a follow-up."""
    now = timezone.now()
    s = world.pipeline.s
    f.DealFactory(
        owner=world.rep_a1,
        team=world.team_a,
        stage=s.proposal,
        amount=Decimal("335750.50"),
        currency="USD",
        expected_close=timezone.localdate() + dt.timedelta(days=3),
        title="Acme Inc. renewal",
    )
    for index in range(3):
        won = f.DealFactory(
            owner=world.rep_a1,
            team=world.team_a,
            stage=s.won,
            amount=Decimal("1000.25") * (index + 1),
            closed_at=now - dt.timedelta(days=index),
        )
        type(won).objects.filter(pk=won.pk).update(created_at=now - dt.timedelta(days=10 + index, hours=5))
    f.DealFactory(owner=world.rep_a1, team=world.team_a, stage=s.lost, closed_at=now)
    today = timezone.localdate()
    Quota.objects.create(
        rep=world.rep_a1,
        period_kind=QuotaPeriod.MONTH,
        period_start=today.replace(day=1),
        period_end=(today.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1),
        target_won_value=Decimal("250000"),
        currency="SAR",
        target_won_deals=12,
        target_activities=40,
        set_by=world.manager_a,
    )
    f.FollowUpFactory(
        assignee=world.rep_a1, team=world.team_a, contact=world.a1.contact, due_at=now - dt.timedelta(hours=2)
    )
    return world


def main_pages(world) -> list[str]:
    return [
        reverse("workspace:home"),
        reverse("crm:company_list"),
        reverse("crm:contact_list"),
        world.a1.company.get_absolute_url(),
        world.a1.contact.get_absolute_url(),
        reverse("crm:follow_up_list") + "?status=all&when=all",
        reverse("pipeline:deal_list"),
        world.a1.deal.get_absolute_url(),
        reverse("pipeline:board"),
        reverse("analytics:dashboard"),
        reverse("analytics:dashboard") + "?period=quarter",
        reverse("analytics:drilldown") + "?figure=won",
        reverse("analytics:quotas"),
        reverse("notifications:list"),
        reverse("accounts:profile"),
        reverse("transfers:import"),
        reverse("transfers:duplicates"),
    ]


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("role", ["rep_a1", "manager_a"])
def test_every_main_page_writes_each_kind_of_value_one_way(client, busy_world, language, role):
    user = getattr(busy_world, role)
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    for url in main_pages(busy_world):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_one_format(visible_text(response.content.decode()), f"{language} {role} {url}")


def test_a_page_has_one_decimal_mark_for_amounts_and_averages(client, busy_world):
    client.force_login(busy_world.rep_a1)
    text = visible_text(client.get(busy_world.a1.contact.get_absolute_url()).content.decode())
    text += visible_text(client.get(reverse("pipeline:deal_list")).content.decode())
    assert POINT_DECIMAL.search(text)
    assert not COMMA_DECIMAL.search(text)


def test_arabic_indic_digits_follow_the_members_choice(client, busy_world):
    rep = busy_world.rep_a1
    rep.digits = "arab"
    rep.save(update_fields=["digits"])
    client.force_login(rep)
    text = visible_text(client.get(reverse("pipeline:deal_list")).content.decode())
    assert "٣٣٥٬٧٥٠٫٥٠" in text
    assert "335,750.50" not in text
    rep.language = "en"
    rep.save(update_fields=["language"])
    text = visible_text(client.get(reverse("pipeline:deal_list")).content.decode())
    assert "335,750.50" in text  # English pages always use Latin digits


def test_hijri_dates_show_beside_gregorian_ones_for_who_asked(client, busy_world):
    rep = busy_world.rep_a1
    deal = busy_world.a1.deal
    deal.expected_close = dt.date(2026, 12, 5)
    deal.save(update_fields=["expected_close"])
    client.force_login(rep)
    assert "جمادى الآخرة 1448" not in visible_text(client.get(deal.get_absolute_url()).content.decode())
    rep.show_hijri = True
    rep.save(update_fields=["show_hijri"])
    text = visible_text(client.get(deal.get_absolute_url()).content.decode())
    assert "5 ديسمبر 2026 (25 جمادى الآخرة 1448 هـ)" in text


def test_profile_saves_the_digit_and_calendar_choices(client, world):
    rep = world.rep_a1
    client.force_login(rep)
    response = client.post(
        reverse("accounts:profile"),
        {
            "first_name": rep.first_name,
            "last_name": rep.last_name,
            "email": rep.email,
            "language": "ar",
            "digits": "arab",
            "show_hijri": "on",
            "time_zone": "Asia/Riyadh",
            "reminder_offset_minutes": "١٥",
        },
    )
    assert response.status_code in (200, 302)
    rep.refresh_from_db()
    assert (rep.digits, rep.show_hijri, rep.reminder_offset_minutes) == ("arab", True, 15)


@pytest.mark.parametrize("typed", ["250,000", "٢٥٠٬٠٠٠", "250000", "٢٥٠٠٠٠"])
def test_targets_accept_the_same_number_formats_as_the_deal_form(client, world, typed):
    client.force_login(world.manager_a)
    response = client.post(
        reverse("analytics:quotas"),
        {
            "rep": world.rep_a1.pk,
            "period_kind": "month",
            "start": timezone.localdate().isoformat(),
            "target_won_value": typed,
            "currency": "SAR",
            "target_won_deals": "١٢",
            "target_activities": "40",
        },
    )
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    quota = Quota.objects.get(rep=world.rep_a1, superseded_at=None)
    assert (quota.target_won_value, quota.target_won_deals) == (Decimal("250000"), 12)


def test_a_follow_up_due_day_can_be_picked_in_the_hijri_calendar(client, world):
    rep = world.rep_a1
    rep.show_hijri = True
    rep.save(update_fields=["show_hijri"])
    client.force_login(rep)
    response = client.post(
        reverse("crm:follow_up_create"),
        {
            "follow_up-subject": "Hijri follow-up",
            "follow_up-due_at": "2026-11-01T10:30",
            "follow_up-due_hijri": "٢٥/٠٦/١٤٤٨",
            "follow_up-assignee": rep.pk,
        },
    )
    assert response.status_code == 302
    follow_up = rep.follow_ups.get(subject="Hijri follow-up") if hasattr(rep, "follow_ups") else None
    from crm.models import FollowUp

    follow_up = FollowUp.objects.get(subject="Hijri follow-up")
    local = timezone.localtime(follow_up.due_at, timezone=dt.timezone(dt.timedelta(hours=3)))
    assert (local.date(), local.hour, local.minute) == (dt.date(2026, 12, 5), 10, 30)


def test_a_bad_hijri_date_is_refused_in_the_members_language(client, world):
    rep = world.rep_a1
    rep.show_hijri = True
    rep.save(update_fields=["show_hijri"])
    client.force_login(rep)
    response = client.post(
        reverse("crm:follow_up_create"),
        {
            "follow_up-subject": "x",
            "follow_up-due_at": "2026-11-01T10:30",
            "follow_up-due_hijri": "1448-13-40",
            "follow_up-assignee": rep.pk,
        },
    )
    assert response.status_code == 400
    assert "أدخل التاريخ الهجري" in response.content.decode()


def test_emails_write_dates_and_amounts_one_way(busy_world, settings):
    from notifications import services

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    rep = busy_world.rep_a1
    rep.email = "rep@example.test"
    rep.save(update_fields=["email"])
    for language in ("ar", "en"):
        rep.language = language
        rep.save(update_fields=["language"])
        mail.outbox.clear()
        local_eight = timezone.localtime(timezone.now(), timezone=dt.timezone(dt.timedelta(hours=3))).replace(
            hour=8, minute=0, second=0, microsecond=0
        )
        from accounts.models import User
        from notifications.models import DailyDigest

        DailyDigest.objects.all().delete()
        User.objects.filter(
            pk__in=[
                u.pk
                for u in (
                    busy_world.rep_a2,
                    busy_world.rep_b,
                    busy_world.manager_a,
                    busy_world.manager_b,
                    busy_world.admin,
                )
            ]
        ).update(email="")
        services.digests_send(now=local_eight)
        assert mail.outbox, language
        for message in mail.outbox:
            assert_one_format(plain(message.body), f"digest {language}")
            assert_one_format(visible_text(message.alternatives[0][0]), f"digest html {language}")
