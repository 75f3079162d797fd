"""Follow-ups Safqa schedules by itself for deals: going cold (nightly) and the after-sale check-ins of a won deal.

Deals depend on customers (crm), never the reverse: these read deals and schedule follow-ups through
crm.services.follow_up_schedule.
"""

from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core import formatting
from core.i18n import user_locale
from crm.models import Company, Contact, FollowUp, FollowUpKind, FollowUpStatus
from crm.services import can_assign_follow_up, follow_up_schedule
from pipeline.models import Deal, StageChange, StageKind
from pipeline.selectors import quiet_open_deals


def _morning_after(moment: datetime, *, hour: int) -> datetime:
    """The next `hour`:00 in the active time zone at or after `moment`."""
    local = timezone.localtime(moment)
    candidate = timezone.make_aware(datetime.combine(local.date(), time(hour)))
    if candidate < moment:
        candidate = timezone.make_aware(datetime.combine(local.date() + timedelta(days=1), time(hour)))
    return candidate


def _customer_name(deal) -> str:
    return str(deal.company or deal.contact or deal.title)


def _schedule_on_deal(deal, *, by, kind: str, subject: str, notes: str, due_at: datetime) -> FollowUp | None:
    """A follow-up for the deal's owner on the deal and its customer; None when the owner may hold none."""
    try:
        return follow_up_schedule(
            by=by,
            assignee=deal.owner,
            subject=subject[:200],
            notes=notes,
            due_at=due_at,
            deal=deal,
            contact=deal.contact,
            company=deal.company,
            kind=kind,
        )
    except ValidationError:
        return None


def going_cold_follow_ups_create(*, now: datetime | None = None) -> list[FollowUp]:
    """Give each going-cold customer's deal owner a follow-up, unless one is already open.

    Nightly. "Already open" means any open follow-up on the deal, its company or
    its contact, whoever it is for: someone already plans to call. Safe to run
    twice, also at the same time: each customer is checked and served under a
    lock on its row, so the second run finds the first one's follow-up.
    Returns the follow-ups created.
    """
    now = now or timezone.now()
    created = []
    # The same rule as My day (one selector), for every active owner's open deals.
    for deal in quiet_open_deals(deals=Deal.objects.filter(owner__is_active=True), now=now):
        with transaction.atomic():
            if deal.company_id:
                Company.objects.select_for_update().filter(pk=deal.company_id).first()
            elif deal.contact_id:
                Contact.objects.select_for_update().filter(pk=deal.contact_id).first()
            else:
                Deal.objects.select_for_update().filter(pk=deal.pk).first()
            customer_q = Q(deal_id=deal.pk)
            if deal.company_id:
                customer_q |= Q(company_id=deal.company_id)
            if deal.contact_id:
                customer_q |= Q(contact_id=deal.contact_id)
            if FollowUp.objects.filter(customer_q, status=FollowUpStatus.OPEN).exists():
                continue
            owner = deal.owner
            with user_locale(owner):
                subject = _("Get back in touch with %(customer)s") % {
                    "customer": formatting.isolate(_customer_name(deal))
                }
                notes = ngettext(
                    "No contact for %(days)d day on the deal “%(deal)s”.",
                    "No contact for %(days)d days on the deal “%(deal)s”.",
                    deal.quiet_days,
                ) % {"days": deal.quiet_days, "deal": formatting.isolate(deal.title)}
                due_at = _morning_after(now, hour=9)
            # An owner outside every team cannot hold follow-ups; the deal still shows on the managers' pages.
            follow_up = _schedule_on_deal(
                deal, by=owner, kind=FollowUpKind.GOING_COLD, subject=subject, notes=notes, due_at=due_at
            )
            if follow_up is not None:
                created.append(follow_up)
    return created


def _won_at(deal) -> datetime:
    """When the deal was won: its last entry into a won stage from a stage that was not won.

    Moving between two won stages is not a new win, so it does not move the check-ins.
    """
    change = (
        StageChange.objects.filter(deal=deal, to_stage__kind=StageKind.WON)
        .exclude(from_stage__kind=StageKind.WON)
        .order_by("-at", "-pk")
        .first()
    )
    return change.at if change else (deal.closed_at or timezone.now())


@transaction.atomic
def after_sale_checkins_schedule(*, deal, by=None) -> list[FollowUp]:
    """Schedule the after-sale check-ins of a won deal for its owner; returns those created.

    One follow-up per day count of the deal's pipeline (`Pipeline.checkin_days()`,
    default 7 and 30), due at 10:00 in the owner's time zone that many days after
    the win. Idempotent: a check-in already scheduled for this win is not added again.
    Called by pipeline.services (deal_create, deal_move_to_stage) when a deal enters a won stage, after
    the StageChange of that move is recorded (the win's time is read from the history).
    """
    deal = (
        Deal.objects.select_for_update(of=("self",))
        .select_related("pipeline", "stage", "owner", "company", "contact")
        .get(pk=deal.pk)
    )
    if deal.stage.kind != StageKind.WON:
        raise ValueError("after-sale check-ins are for won deals")
    owner = deal.owner
    scheduler = by if by is not None and can_assign_follow_up(by=by, assignee=owner) else owner
    created = []
    with user_locale(owner):
        won_day = timezone.localtime(_won_at(deal)).date()
        for days in deal.pipeline.checkin_days():
            due_at = timezone.make_aware(datetime.combine(won_day + timedelta(days=days), time(10)))
            if FollowUp.objects.filter(deal=deal, kind=FollowUpKind.AFTER_SALE, due_at=due_at).exists():
                continue
            subject = ngettext(
                "After-sale check-in with %(customer)s, %(days)d day after the sale",
                "After-sale check-in with %(customer)s, %(days)d days after the sale",
                days,
            ) % {"customer": formatting.isolate(_customer_name(deal)), "days": days}
            # Winning the deal must not fail because its owner left every team.
            follow_up = _schedule_on_deal(
                deal,
                by=scheduler,
                kind=FollowUpKind.AFTER_SALE,
                subject=subject,
                notes=_("Won deal: %(deal)s") % {"deal": formatting.isolate(deal.title)},
                due_at=due_at,
            )
            if follow_up is not None:
                created.append(follow_up)
    return created
