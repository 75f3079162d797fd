"""Reminders, in-app notifications and the morning digest.

Reminders are delivered exactly once, and the database, not the broker, decides
what is due (README, "Reminders and notifications"):

1. `reminders_claim` (the dispatcher, every minute) takes the due reminders with
   SELECT … FOR UPDATE SKIP LOCKED and moves them pending → sending (attempt + 1,
   claimed at now) in a short transaction. Dispatchers running at once take
   different rows; a row a sender is working on is locked, hence skipped.
2. `reminders_deliver` (one task per REMINDER_SEND_CHUNK claimed reminders, over
   one SMTP connection) delivers each in its own transaction: it locks the
   follow-up again and only acts while it is still "sending": duplicated, late or
   stale task messages find it sent (or re-armed) and do nothing. It creates the
   in-app notification (unique per reminder and recipient) and sends the email
   while holding the row lock, then commits "sent" with the email's stamp.
3. A claim whose task never ran or whose worker died (SIGKILL, Redis emptied)
   keeps "sending" with an old `reminder_claimed_at` and no lock: after
   REMINDER_LEASE_SECONDS the dispatcher claims it again.
4. A failed email puts the reminder back to pending with an exponential backoff
   (`reminder_next_attempt_at`); after REMINDER_MAX_ATTEMPTS it is "failed", and
   the recipient's notification says so and turns unread again.

The one window no database can close: the SMTP server has accepted the email and
the worker dies before its COMMIT arrives. The reminder is then sent again after
the lease. It is kept as narrow as possible: the "sent" rows are written before
the email leaves, so after the server's "250 OK" only the COMMIT remains (the
SMTP QUIT comes after it, at the end of the batch), and both copies carry the
same Message-ID, which mail systems use to drop duplicates.
"""

import logging
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import formatting
from core.i18n import user_locale, zone_named
from crm.models import FollowUp, FollowUpStatus, ReminderState
from notifications.models import DailyDigest, Notification, NotificationKind

logger = logging.getLogger(__name__)

# What one digest lists at most per section; the rest is counted ("and 12 more").
DIGEST_ITEMS_SHOWN = 30


# ---- shared pieces ----


def absolute_url(path: str) -> str:
    return settings.SITE_URL + path


def _message_id(*parts) -> str:
    """A Message-ID computed from what the email is about, identical on every worker and every attempt."""
    domain = urlsplit(settings.SITE_URL).hostname or "safqa.localhost"
    return "<safqa." + ".".join(str(part) for part in parts) + f"@{domain}>"


def _can_email(user) -> bool:
    return bool(user.is_active and user.email)


def when_text(moment: datetime) -> str:
    """A moment in the active language, time zone and digits, the one date-time format: "25 نوفمبر 2026، 2:00 م"."""
    return formatting.datetime(moment)


def _customer(follow_up: FollowUp) -> str:
    for linked in (follow_up.contact, follow_up.company, follow_up.deal):
        if linked is not None:
            return str(linked)
    return ""


def _render_email(*, template: str, context: dict, to: str, message_id: str) -> EmailMultiAlternatives:
    """Text and HTML parts from `notifications/email/<template>*`, in the active language."""
    language = translation.get_language()
    context = {
        **context,
        "language": language,
        "direction": "rtl" if translation.get_language_bidi() else "ltr",
        "time_zone": timezone.get_current_timezone_name(),
        "site_url": settings.SITE_URL,
    }
    subject = " ".join(render_to_string(f"notifications/email/{template}_subject.txt", context).split())
    context["subject"] = subject
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"notifications/email/{template}.txt", context),
        to=[to],
        headers={"Message-ID": message_id, "Content-Language": language},
    )
    message.attach_alternative(render_to_string(f"notifications/email/{template}.html", context), "text/html")
    return message


def _close_quietly(connection) -> None:
    if connection is None:
        return
    try:
        connection.close()
    except Exception:  # the email is accepted and committed; a failed QUIT changes nothing
        logger.debug("SMTP connection did not close cleanly", exc_info=True)


# ---- reminders ----


def reminders_claim(*, now: datetime | None = None, batch: int | None = None) -> list[int]:
    """Claim the reminders due at `now` for delivery and return the follow-up ids to deliver.

    Due: pending with `remind_at` passed and no backoff pending, or "sending" with a
    claim older than the lease (its delivery was lost). Rows locked by another
    dispatcher or by a sender are skipped, never waited for. A lost claim that has
    used every attempt is marked failed here instead of being claimed again.
    """
    now = now or timezone.now()
    batch = batch or settings.REMINDER_BATCH_SIZE
    lease_start = now - timedelta(seconds=settings.REMINDER_LEASE_SECONDS)
    # A reminder re-armed by a reschedule or a reassignment starts again at attempt 0:
    # the backoff of its earlier failures no longer applies.
    due = Q(reminder_state=ReminderState.PENDING, remind_at__lte=now) & (
        Q(reminder_attempts=0) | Q(reminder_next_attempt_at__isnull=True) | Q(reminder_next_attempt_at__lte=now)
    )
    lost = Q(reminder_state=ReminderState.SENDING) & (
        Q(reminder_claimed_at__isnull=True) | Q(reminder_claimed_at__lt=lease_start)
    )
    with transaction.atomic():
        rows = list(
            FollowUp.objects.select_for_update(skip_locked=True)
            .filter(due | lost, status=FollowUpStatus.OPEN)
            .order_by("remind_at", "pk")
            .values_list("pk", "reminder_state", "reminder_attempts")[:batch]
        )
        exhausted = [
            pk
            for pk, state, attempts in rows
            if state == ReminderState.SENDING and attempts >= settings.REMINDER_MAX_ATTEMPTS
        ]
        claimed = [pk for pk, _state, _attempts in rows if pk not in exhausted]
        if claimed:
            FollowUp.objects.filter(pk__in=claimed).update(
                reminder_state=ReminderState.SENDING,
                reminder_attempts=F("reminder_attempts") + 1,
                reminder_claimed_at=now,
                reminder_next_attempt_at=None,
                updated_at=timezone.now(),
            )
        for pk in exhausted:
            follow_up = FollowUp.objects.select_related("assignee", "contact", "company", "deal").get(pk=pk)
            _reminder_failed(
                follow_up,
                error=f"delivery did not finish after {follow_up.reminder_attempts} attempts (worker lost)",
            )
    return claimed


def _reminder_texts(follow_up: FollowUp) -> tuple[str, str]:
    """Title and body of the in-app notification, in the active language and time zone."""
    title = _("Reminder: %(subject)s") % {"subject": formatting.isolate(follow_up.subject)}
    body = _("Due %(when)s") % {"when": when_text(follow_up.due_at)}
    customer = _customer(follow_up)
    if customer:
        body = f"{body} · {customer}"
    return title[:250], body


def _reminder_notification_fields(follow_up: FollowUp) -> dict:
    """What a reminder's notification says, written in the recipient's language and time zone."""
    with user_locale(follow_up.assignee):
        title, body = _reminder_texts(follow_up)
    return {
        "kind": NotificationKind.REMINDER,
        "title": title,
        "body": body,
        "url": reverse("crm:follow_up_update", args=[follow_up.pk]),
    }


def _reminder_notification(follow_up: FollowUp) -> Notification:
    """The reminder's in-app notification, created once per reminder and recipient."""
    notification, _created = Notification.objects.get_or_create(
        recipient=follow_up.assignee,
        follow_up=follow_up,
        reminder_for=follow_up.remind_at,
        defaults=_reminder_notification_fields(follow_up),
    )
    return notification


def _reminder_email(follow_up: FollowUp, notification: Notification) -> EmailMultiAlternatives:
    recipient = follow_up.assignee
    with user_locale(recipient):
        return _render_email(
            template="reminder",
            context={
                "recipient": recipient,
                "recipient_name": recipient.first_name or recipient.username,
                "follow_up": follow_up,
                "due_text": when_text(follow_up.due_at),
                "customer": _customer(follow_up),
                "url": absolute_url(notification.url),
            },
            to=recipient.email,
            message_id=_message_id("reminder", follow_up.pk, int(follow_up.remind_at.timestamp()), recipient.pk),
        )


def _mark_sent(follow_up: FollowUp, now: datetime) -> None:
    FollowUp.objects.filter(pk=follow_up.pk).update(
        reminder_state=ReminderState.SENT,
        reminder_sent_at=now,
        reminder_error="",
        reminder_claimed_at=None,
        reminder_next_attempt_at=None,
        updated_at=timezone.now(),
    )


def _reminder_failed(follow_up: FollowUp, *, error: str) -> None:
    """Give up on a reminder and show it: the notification exists, says the email failed, and is unread again."""
    notification = _reminder_notification(follow_up)
    Notification.objects.filter(pk=notification.pk).update(
        email_error=error, email_sent_at=None, email_message_id="", read_at=None, updated_at=timezone.now()
    )
    FollowUp.objects.filter(pk=follow_up.pk).update(
        reminder_state=ReminderState.FAILED,
        reminder_error=error,
        reminder_claimed_at=None,
        reminder_next_attempt_at=None,
        updated_at=timezone.now(),
    )
    logger.warning("reminder of follow-up %s failed: %s", follow_up.pk, error)


def _reminder_retry_later(follow_up: FollowUp, *, error: str, now: datetime) -> datetime:
    """Back to pending after a failed attempt; the wait doubles with each attempt."""
    delay = settings.REMINDER_RETRY_SECONDS * 2 ** max(follow_up.reminder_attempts - 1, 0)
    next_attempt_at = now + timedelta(seconds=delay)
    FollowUp.objects.filter(pk=follow_up.pk).update(
        reminder_state=ReminderState.PENDING,
        reminder_error=error,
        reminder_claimed_at=None,
        reminder_next_attempt_at=next_attempt_at,
        updated_at=timezone.now(),
    )
    logger.info("reminder of follow-up %s failed (%s); next attempt at %s", follow_up.pk, error, next_attempt_at)
    return next_attempt_at


class _Mailer:
    """One SMTP connection for the reminders of a batch: opened at the first email, dropped after a failure.

    A reminder whose email fails gets a fresh connection for the next one, so one bad
    conversation never fails the rest of the batch.
    """

    def __init__(self):
        self.connection = None

    def send(self, message: EmailMultiAlternatives) -> None:
        if self.connection is None:
            self.connection = get_connection(fail_silently=False)
            self.connection.open()
        try:
            if self.connection.send_messages([message]) != 1:
                raise RuntimeError("the email backend did not send the message")
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        _close_quietly(self.connection)
        self.connection = None


# What a reminder's notification and email show besides the follow-up itself.
_REMINDER_RELATED = ("assignee", "contact", "company", "deal")


def _send_email(follow_up: FollowUp, notification: Notification, mailer: _Mailer, now: datetime) -> str:
    """Stamp the notification and the follow-up "sent", then send; a failed email undoes the stamps and retries later."""
    message = _reminder_email(follow_up, notification)
    before_sending = transaction.savepoint()
    Notification.objects.filter(pk=notification.pk).update(
        email_message_id=message.extra_headers["Message-ID"],
        email_sent_at=now,
        email_error="",
        updated_at=timezone.now(),
    )
    _mark_sent(follow_up, now)
    return _send_or_retry(follow_up, message, mailer, now, before_sending)


def _send_or_retry(follow_up: FollowUp, message, mailer: _Mailer, now: datetime, before_sending) -> str:
    try:
        mailer.send(message)
    except Exception as error:  # SMTP refused, timed out, unreachable: all retried the same way
        transaction.savepoint_rollback(before_sending)
        text = f"{type(error).__name__}: {error}"[:2000]
        if follow_up.reminder_attempts >= settings.REMINDER_MAX_ATTEMPTS:
            _reminder_failed(follow_up, error=text)
            return "failed"
        # The in-app notification stays, as when the email fails after it was created.
        _reminder_notification(follow_up)
        _reminder_retry_later(follow_up, error=text, now=now)
        return "retry"
    return "sent"


def _send_first_email(follow_up: FollowUp, mailer: _Mailer, now: datetime) -> str | None:
    """The usual case, a reminder without a notification yet: the notification is inserted already stamped
    with the email, beside "sent", in one savepoint (3 statements instead of 6). None when the
    notification exists after all (the savepoint is undone and the caller takes the general path).
    """
    recipient = follow_up.assignee
    notification = Notification(
        recipient=recipient,
        follow_up=follow_up,
        reminder_for=follow_up.remind_at,
        **_reminder_notification_fields(follow_up),
    )
    message = _reminder_email(follow_up, notification)
    before_sending = transaction.savepoint()
    try:
        notification.email_message_id = message.extra_headers["Message-ID"]
        notification.email_sent_at = now
        notification.save(force_insert=True)
    except IntegrityError:  # another attempt created it meanwhile (notification_one_per_reminder)
        # Back to the savepoint, a known good state, and the transaction goes on (save() had marked it
        # for rollback; the savepoint is what makes it usable again).
        transaction.set_rollback(False)
        transaction.savepoint_rollback(before_sending)
        return None
    _mark_sent(follow_up, now)
    return _send_or_retry(follow_up, message, mailer, now, before_sending)


def _deliver(
    follow_up_id: int, now: datetime | None, mailer: _Mailer, loaded: FollowUp | None, notified: bool = True
) -> str:
    """Deliver one claimed reminder; `notified` False says the batch found no notification of it before the lock."""
    with transaction.atomic():
        # The lock is held until the commit: a second delivery of the same reminder
        # (a duplicated task message) waits here and then finds it sent, and the
        # dispatcher skips the row instead of taking it back from a live sender.
        follow_up = FollowUp.objects.select_for_update().filter(pk=follow_up_id).order_by().first()
        if follow_up is not None and loaded is not None:
            # The linked records the batch loaded in one query, where the locked row still
            # points at them (a lazy query fetches any it points at now instead).
            for name in _REMINDER_RELATED:
                related = getattr(loaded, name)
                if related is not None and getattr(follow_up, f"{name}_id") == related.pk:
                    setattr(follow_up, name, related)
        if follow_up is None or follow_up.reminder_state != ReminderState.SENDING:
            return "skipped"
        now = now or timezone.now()
        if follow_up.status != FollowUpStatus.OPEN or follow_up.remind_at is None or follow_up.remind_at > now:
            # Done, cancelled or moved later since the claim: release it; the
            # dispatcher takes it again if and when it is due.
            FollowUp.objects.filter(pk=follow_up.pk).update(
                reminder_state=ReminderState.PENDING, reminder_claimed_at=None, updated_at=timezone.now()
            )
            return "skipped"
        if not notified and _can_email(follow_up.assignee):
            outcome = _send_first_email(follow_up, mailer, now)
            if outcome is not None:
                return outcome
        notification = _reminder_notification(follow_up)
        if notification.email_sent_at is not None or not _can_email(follow_up.assignee):
            _mark_sent(follow_up, now)
            return "sent"
        return _send_email(follow_up, notification, mailer, now)


def reminder_deliver(*, follow_up_id: int, now: datetime | None = None) -> str:
    """Deliver one claimed reminder: its in-app notification and its email, each at most once.

    Returns what happened, for logs and tests: "sent", "retry", "failed" or
    "skipped" (not claimed any more, or not due after all).
    """
    mailer = _Mailer()
    try:
        return _deliver(follow_up_id, now, mailer, loaded=None)
    finally:
        mailer.close()


def reminders_deliver(*, follow_up_ids: list[int], now: datetime | None = None) -> list[str]:
    """Deliver claimed reminders one after another, each exactly as `reminder_deliver` does, over one SMTP connection.

    Each reminder keeps its own transaction (lock, notification, "sent", email, commit),
    so the window for a repeated email stays one commit long; what is shared is the SMTP
    connection, whose setup would otherwise cost more than the email, and the query
    loading the records the emails name. A reminder that raises is logged and left
    "sending" for the lease to bring back; the others go on.
    """
    loaded = FollowUp.objects.select_related(*_REMINDER_RELATED).in_bulk(follow_up_ids)
    # The reminders that already have their notification (an earlier attempt): one query for the batch.
    # The others (nearly all) insert theirs without looking first; a notification created between this
    # query and the row lock shows as a conflict, and that reminder takes the general path.
    notified = {
        (follow_up_id, recipient_id, reminder_for)
        for follow_up_id, recipient_id, reminder_for in Notification.objects.filter(
            follow_up_id__in=follow_up_ids, reminder_for__isnull=False
        ).values_list("follow_up_id", "recipient_id", "reminder_for")
    }
    mailer = _Mailer()
    outcomes = []
    try:
        for follow_up_id in follow_up_ids:
            try:
                follow_up = loaded.get(follow_up_id)
                known = follow_up is None or (follow_up.pk, follow_up.assignee_id, follow_up.remind_at) in notified
                outcomes.append(_deliver(follow_up_id, now, mailer, follow_up, notified=known))
            except Exception:
                logger.exception("reminder of follow-up %s not delivered; claimed again after the lease", follow_up_id)
                mailer.close()
                outcomes.append("error")
    finally:
        mailer.close()
    return outcomes


# ---- the bell ----


@transaction.atomic
def notification_send(*, recipient, kind: str, title: str, body: str = "", url: str = "") -> Notification:
    """Tell `recipient` something in the app (the bell); title and body written in their language by the caller."""
    notification = Notification(recipient=recipient, kind=kind, title=title[:250], body=body, url=url[:300])
    notification.full_clean()
    notification.save()
    return notification


def notification_mark_read(*, notification: Notification, by) -> Notification:
    """Mark one of `by`'s notifications read (already read: unchanged)."""
    if notification.recipient_id != by.pk:
        # The one kind of refusal of the services (mapped to 403 by Django and by the API's error handler).
        raise PermissionDenied(_("Only its recipient can mark a notification read."))
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at, updated_at=notification.read_at
        )
    return notification


def notifications_mark_all_read(*, by) -> int:
    """Mark every unread notification of `by` read; returns how many."""
    now = timezone.now()
    return Notification.objects.visible_to(by).unread().update(read_at=now, updated_at=now)


def unread_count(*, user) -> int:
    return Notification.objects.visible_to(user).unread().count()


# ---- the morning digest ----


def _local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Start and end of `day` in the active time zone (correct across daylight-saving changes)."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    return start, end


def digest_content(*, user, now: datetime) -> dict:
    """What `user`'s digest says at `now`, read in the active (their) time zone.

    Overdue and today's open follow-ups, and open deals expected to close this
    week: today and the six days after it (a rolling week, so the list is the
    same whichever day a team's week starts on).
    """
    from pipeline.models import Deal, StageKind

    local_now = timezone.localtime(now)
    today = local_now.date()
    _start, end_of_today = _local_day_bounds(today)
    follow_ups = list(
        FollowUp.objects.visible_to(user)
        .filter(assignee=user, status=FollowUpStatus.OPEN, due_at__lt=end_of_today)
        .select_related("contact", "company", "deal")
        .order_by("due_at", "pk")
    )
    overdue = [follow_up for follow_up in follow_ups if follow_up.due_at < now]
    due_today = [follow_up for follow_up in follow_ups if follow_up.due_at >= now]
    deals = list(
        Deal.objects.visible_to(user)
        .filter(
            owner=user,
            stage__kind=StageKind.OPEN,
            expected_close__gte=today,
            expected_close__lte=today + timedelta(days=6),
        )
        .select_related("stage", "company", "contact")
        .order_by("expected_close", "pk")
    )
    for follow_up in follow_ups:
        follow_up.when_text = when_text(follow_up.due_at)
        follow_up.customer = _customer(follow_up)
    return {
        "day": today,
        "overdue": overdue[:DIGEST_ITEMS_SHOWN],
        "overdue_more": max(len(overdue) - DIGEST_ITEMS_SHOWN, 0),
        "due_today": due_today[:DIGEST_ITEMS_SHOWN],
        "due_today_more": max(len(due_today) - DIGEST_ITEMS_SHOWN, 0),
        "deals": deals[:DIGEST_ITEMS_SHOWN],
        "deals_more": max(len(deals) - DIGEST_ITEMS_SHOWN, 0),
        "follow_up_count": len(follow_ups),
        "deal_count": len(deals),
    }


def digest_send(*, user, now: datetime | None = None) -> bool:
    """Send `user` today's digest unless it was already done today; True when an email left.

    The day's row is inserted first: a second run (another worker, the next
    check) waits on it or finds it and stops. A failed email rolls the row back,
    so the next check (15 minutes later, while it is still morning) tries again.
    """
    now = now or timezone.now()
    connection = None
    try:
        with user_locale(user), transaction.atomic():
            day = timezone.localdate(now)
            digest, created = DailyDigest.objects.get_or_create(user=user, day=day)
            if not created:
                return False
            content = digest_content(user=user, now=now)
            digest.follow_up_count = content["follow_up_count"]
            digest.deal_count = content["deal_count"]
            if not (digest.follow_up_count or digest.deal_count) or not _can_email(user):
                digest.save(update_fields=["follow_up_count", "deal_count", "updated_at"])
                return False
            message = _render_email(
                template="digest",
                context={
                    **content,
                    "recipient": user,
                    "recipient_name": user.first_name or user.username,
                    "day_text": formatting.date(day),
                    "my_day_url": absolute_url(reverse("workspace:home")),
                },
                to=user.email,
                message_id=_message_id("digest", user.pk, day.isoformat()),
            )
            digest.email_message_id = message.extra_headers["Message-ID"]
            digest.email_sent_at = now
            digest.save()
            connection = get_connection(fail_silently=False)
            connection.open()
            if connection.send_messages([message]) != 1:
                raise RuntimeError("the email backend did not send the message")
            return True
    finally:
        _close_quietly(connection)


def digests_send(*, now: datetime | None = None) -> int:
    """Send the morning digest to everyone for whom it is now morning and who has not had today's.

    Runs every 15 minutes; "morning" is DIGEST_HOUR:00 until DIGEST_LATEST_HOUR:00
    local time, so a check missed while workers were down is made up, but no
    digest arrives in the afternoon. Returns how many emails left.
    """
    from accounts.models import User

    now = now or timezone.now()
    members = User.objects.filter(is_active=True).exclude(email="")
    sent = 0
    for zone_name in members.order_by().values_list("time_zone", flat=True).distinct():
        local_now = timezone.localtime(now, zone_named(zone_name))
        if not settings.DIGEST_HOUR <= local_now.hour < settings.DIGEST_LATEST_HOUR:
            continue
        waiting = members.filter(time_zone=zone_name).exclude(daily_digests__day=local_now.date()).order_by("pk")
        for user in waiting:
            try:
                sent += digest_send(user=user, now=now)
            except Exception:
                # One member's failure (SMTP down) must not keep the others' digests back;
                # theirs is tried again at the next check.
                logger.exception("morning digest for user %s not sent; retried at the next check", user.pk)
    return sent
