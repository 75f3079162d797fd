"""My day's next best actions: a short ranked list of what to do now, each with its reason and its actions.

What is suggested, in this order (a deal appears once, for its first reason):
1. overdue follow-ups: a promise to a customer that is late, the latest first in line;
2. unhappy survey answers nobody followed up: CSAT ≤ 2 or NPS ≤ 6 (surveys.models.LOW_SCORE_MAX)
   with no follow-up on that customer done since the answer, the newest first;
3. deals whose win probability fell most this week: the stored score against the oldest daily
   snapshot of the last seven days taken by the same model version, a fall of DROP_POINTS or more;
4. customers going cold: the one rule of pipeline.selectors.quiet_open_deals (via `going_cold`);
5. open deals with no next step: no open follow-up on the deal, the soonest expected close first.
At most PER_KIND of each kind and LIMIT in all, so one kind never buries the others.

Only the member's own records are suggested (their follow-ups, their deals, the answers about
their deals), each read through `visible_to`. A dismissed suggestion (SuggestionDismissal) is
left out. The key of a suggestion names the situation: `overdue:<follow-up>`,
`survey:<answer>`, `drop:<deal>:<ISO week>`, `cold:<deal>:<day of the last contact>`,
`nostep:<deal>:<stage>`; a new situation on the same record is a new suggestion.

The number of queries does not depend on the number of records: one per kind (going cold's
fixed handful), one for the dismissals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext, pgettext

from core import formatting

LIMIT = 8
PER_KIND = 3
# A fall of the win probability smaller than this (in points) is noise, not news.
DROP_POINTS = 5
DROP_WINDOW_DAYS = 7

KINDS = ("overdue_follow_up", "unhappy_answer", "probability_drop", "going_cold", "no_next_step")


@dataclass
class Action:
    """One tap: `kind` names it for API clients (open_deal, schedule_follow_up, mark_done, finish_follow_up,
    call, whatsapp, email); `method` is GET (a link) or POST (a form)."""

    kind: str
    label: str
    url: str
    method: str = "GET"


@dataclass
class Suggestion:
    key: str
    kind: str
    reason: str
    deal: object = None
    follow_up: object = None
    customer: object = None  # the contact (else the company) the channels reach
    answer: object = None
    actions: list[Action] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @property
    def title(self) -> str:
        if self.follow_up is not None:
            return self.follow_up.subject
        if self.deal is not None:
            return self.deal.title
        return str(self.customer or "")


def _name(value) -> str:
    return formatting.isolate(str(value)) if value else ""


def _customer_of(record):
    return getattr(record, "contact", None) or getattr(record, "company", None)


def _open_deal(deal) -> Action:
    return Action("open_deal", gettext("Open the deal"), deal.get_absolute_url())


def _schedule(subject_type: str, subject) -> Action:
    query = urlencode({"subject_type": subject_type, "subject_id": subject.pk})
    return Action("schedule_follow_up", gettext("Schedule a follow-up"), f"{reverse('crm:follow_up_create')}?{query}")


def _channel_actions(customer) -> list[Action]:
    from crm.channels import company_channels, contact_channels
    from crm.models import Contact

    if customer is None:
        return []
    channels = contact_channels(customer) if isinstance(customer, Contact) else company_channels(customer)
    return [
        Action("call" if channel.key == "phone" else str(channel.key), str(channel.label), channel.href)
        for channel in channels
    ]


def _overdue(user, now, limit, *, known=None, own_open_deals=None):
    from crm.models import FollowUp, FollowUpStatus

    follow_ups = None
    if known is not None:  # My day's first due follow-ups (oldest first) and how many are due in all
        shown, total = known
        overdue = [follow_up for follow_up in shown if follow_up.due_at < now]
        # The card is cut at its first few: it holds the oldest `limit` overdue follow-ups when it holds
        # that many, when it also holds one not yet overdue (every older one is then in it), or when it
        # holds every due follow-up. Else (many overdue ones dismissed) they are read here.
        if len(overdue) >= limit or len(overdue) < len(shown) or (total is not None and len(shown) >= total):
            follow_ups = overdue[:limit]
    if follow_ups is None:
        follow_ups = (
            FollowUp.objects.visible_to(user)
            .filter(assignee=user, status=FollowUpStatus.OPEN, due_at__lt=now)
            .select_related("contact", "company", "deal")
            .order_by("due_at", "pk")[:limit]
        )
    for follow_up in follow_ups:
        reason = gettext("The follow-up %(subject)s was due %(due)s and is not done yet.") % {
            "subject": _name(follow_up.subject),
            "due": formatting.relative(follow_up.due_at, now=now),
        }
        actions = []
        if follow_up.contact_id or follow_up.company_id or follow_up.deal_id:
            actions.append(
                Action("finish_follow_up", gettext("Done"), reverse("crm:follow_up_finish", args=[follow_up.pk]))
            )
        else:
            actions.append(
                Action("mark_done", gettext("Mark as done"), reverse("crm:follow_up_done", args=[follow_up.pk]), "POST")
            )
        if follow_up.deal_id:
            actions.append(_open_deal(follow_up.deal))
        customer = _customer_of(follow_up)
        yield Suggestion(
            key=f"overdue:{follow_up.pk}",
            kind="overdue_follow_up",
            reason=reason,
            deal=follow_up.deal,
            follow_up=follow_up,
            customer=customer,
            actions=actions + _channel_actions(customer),
        )


def _unhappy_answers(user, now, limit, *, known=None, own_open_deals=None):
    if not apps.is_installed("surveys"):
        return
    from django.db.models import Exists, F, OuterRef, Q

    from crm.models import FollowUp, FollowUpStatus
    from surveys.models import LOW_SCORE_MAX, SCALES, SurveyKind, SurveyResponse

    followed_up = FollowUp.objects.filter(
        contact_id=OuterRef("contact_id"), status=FollowUpStatus.DONE, completed_at__gte=OuterRef("responded_at")
    )
    low = Q()
    for kind, highest in LOW_SCORE_MAX.items():
        low |= Q(kind=kind, score__lte=highest)
    answers = (
        SurveyResponse.objects.visible_to(user)
        .filter(low, owner=user)
        .filter(~Exists(followed_up))
        .select_related("contact", "deal")
        .order_by(F("responded_at").desc(), "-pk")[:limit]
    )
    for answer in answers:
        out_of = SCALES[answer.kind][1]
        if answer.kind == SurveyKind.NPS:
            text = gettext(
                "%(customer)s answered %(score)s out of %(scale)s to the recommendation question %(day)s, "
                "and no follow-up was done since."
            )
        else:
            text = gettext(
                "%(customer)s answered %(score)s out of %(scale)s to the satisfaction survey %(day)s, "
                "and no follow-up was done since."
            )
        reason = text % {
            "customer": _name(answer.contact),
            "score": formatting.count(answer.score),
            "scale": formatting.count(out_of),
            "day": formatting.relative(answer.responded_at, now=now),
        }
        actions = [_schedule("contact", answer.contact)]
        if answer.deal_id:
            actions.append(_open_deal(answer.deal))
        yield Suggestion(
            key=f"survey:{answer.pk}",
            kind="unhappy_answer",
            reason=reason,
            deal=answer.deal,
            customer=answer.contact,
            answer=answer,
            actions=actions + _channel_actions(answer.contact),
        )


def _probability_drops(user, now, limit, *, known=None, own_open_deals):
    from django.db.models import F, OuterRef, Subquery

    from assistant.models import DealScore
    from assistant.planning_models import DealScoreSnapshot

    today = now.date()
    week_ago = DealScoreSnapshot.objects.filter(
        deal_id=OuterRef("deal_id"),
        model_version=OuterRef("model_version"),
        day__gte=today - timedelta(days=DROP_WINDOW_DAYS),
    ).order_by("day")
    scores = (
        DealScore.objects.filter(deal__in=own_open_deals.values("pk"))
        .annotate(before=Subquery(week_ago.values("probability")[:1]))
        .annotate(drop=F("before") - F("probability"))
        .filter(drop__gte=Decimal(DROP_POINTS) / 100)
        .select_related("deal", "deal__contact", "deal__company")
        .order_by("-drop", "deal_id")[:limit]
    )
    year, week, _day = today.isocalendar()
    for score in scores:
        deal = score.deal
        reason = gettext("The win probability of %(deal)s fell from %(before)s to %(now)s this week.") % {
            "deal": _name(deal.title),
            "before": formatting.percent(score.before * 100, 0),
            "now": formatting.percent(score.probability * 100, 0),
        }
        customer = _customer_of(deal)
        yield Suggestion(
            key=f"drop:{deal.pk}:{year}-W{week:02d}",
            kind="probability_drop",
            reason=reason,
            deal=deal,
            customer=customer,
            actions=[_open_deal(deal), _schedule("deal", deal), *_channel_actions(customer)],
        )


def _going_cold(user, now, limit, *, known=None, own_open_deals=None):
    from pipeline.selectors import quiet_open_deals

    # My day's own going-cold list (the same rule, quietest first), read once for both.
    deals = known[:limit] if known is not None else quiet_open_deals(deals=own_open_deals, now=now, limit=limit)
    for deal in deals:
        customer = _customer_of(deal)
        days = deal.quiet_days
        values = {"customer": _name(customer), "deal": _name(deal.title), "days": formatting.count(days)}
        if customer is not None:
            reason = (
                ngettext(
                    "No contact with %(customer)s about %(deal)s for %(days)s day.",
                    "No contact with %(customer)s about %(deal)s for %(days)s days.",
                    days,
                )
                % values
            )
        else:
            reason = (
                ngettext(
                    "Nothing logged on %(deal)s for %(days)s day.",
                    "Nothing logged on %(deal)s for %(days)s days.",
                    days,
                )
                % values
            )
        yield Suggestion(
            key=f"cold:{deal.pk}:{deal.last_activity_at.date().isoformat()}",
            kind="going_cold",
            reason=reason,
            deal=deal,
            customer=customer,
            actions=[_open_deal(deal), _schedule("deal", deal), *_channel_actions(customer)],
        )


def _no_next_step(user, now, limit, *, known=None, own_open_deals):
    from django.db.models import DateField, Exists, OuterRef, Value
    from django.db.models.functions import Coalesce

    from crm.models import FollowUp, FollowUpStatus

    open_follow_up = FollowUp.objects.filter(deal_id=OuterRef("pk"), status=FollowUpStatus.OPEN)
    # The soonest expected close first, deals without one last. Ordering by an expression (the
    # missing date read as the last possible day) rather than by the column keeps the planner off
    # the whole table's expected-close index: walking it until the member's first open deals
    # without a next step turned up read 314,000 deals (1.3 s) for one rep at S=10, where the
    # member's own open deals (1,407, from the (owner, stage) index) sort in a few milliseconds.
    last_day = Value(date.max, output_field=DateField())
    deals = (
        own_open_deals.filter(~Exists(open_follow_up))
        .select_related("stage", "contact", "company")
        .order_by(Coalesce("expected_close", last_day).asc(), "created_at", "pk")[:limit]
    )
    for deal in deals:
        reason = gettext("%(deal)s (%(stage)s) has no next step scheduled.") % {
            "deal": _name(deal.title),
            "stage": _name(deal.stage),
        }
        customer = _customer_of(deal)
        yield Suggestion(
            key=f"nostep:{deal.pk}:{deal.stage_id}",
            kind="no_next_step",
            reason=reason,
            deal=deal,
            customer=customer,
            actions=[_schedule("deal", deal), _open_deal(deal), *_channel_actions(customer)],
        )


# Each source with the prefix of its keys, in the order of the list.
SOURCES = (
    (_overdue, "overdue"),
    (_unhappy_answers, "survey"),
    (_probability_drops, "drop"),
    (_going_cold, "cold"),
    (_no_next_step, "nostep"),
)
# The most records one source reads, however many suggestions of its kind were dismissed.
MAX_READ = 200


def next_actions(
    *,
    user,
    now=None,
    limit: int = LIMIT,
    per_kind: int = PER_KIND,
    due_follow_ups=None,
    due_follow_ups_total: int | None = None,
    going_cold_deals=None,
    stage_ids=None,
) -> list[Suggestion]:
    """The member's next best actions, best first (see the module's docstring for the order and the rules).

    My day passes what it already read for its other cards: `due_follow_ups` (the first of
    crm.selectors.follow_ups_due, oldest first) with `due_follow_ups_total` (how many are due in all; None
    when unknown), and `going_cold_deals` (pipeline.selectors.going_cold), so they are not read twice,
    and `stage_ids` (pipeline.selectors.open_stage_ids). The due list may be cut short: the overdue
    follow-ups it cannot stand for (when many were dismissed) are read again.
    """
    known = {
        "overdue": None if due_follow_ups is None else (list(due_follow_ups), due_follow_ups_total),
        "cold": going_cold_deals,
    }
    from assistant.planning_models import SuggestionDismissal

    if user is None or not user.is_authenticated:
        return []
    now = now or timezone.now()
    dismissed = set(SuggestionDismissal.objects.visible_to(user).values_list("key", flat=True))
    dismissed_per_prefix: dict[str, int] = {}
    for key in dismissed:
        prefix = key.split(":", 1)[0]
        dismissed_per_prefix[prefix] = dismissed_per_prefix.get(prefix, 0) + 1
    from pipeline.selectors import own_open_deals

    own = own_open_deals(user=user, stage_ids=stage_ids)  # lazy: read by the sources that need it
    chosen: list[Suggestion] = []
    seen_deals: set[int] = set()
    for source, prefix in SOURCES:
        if len(chosen) >= limit:
            break
        # Read a few more than shown: some are dismissed or already suggested for another reason.
        reading = min(per_kind + dismissed_per_prefix.get(prefix, 0) + len(seen_deals), MAX_READ)
        taken = 0
        for suggestion in source(user, now, reading, known=known.get(prefix), own_open_deals=own):
            if taken >= per_kind or len(chosen) >= limit:
                break
            if suggestion.key in dismissed:
                continue
            deal_id = getattr(suggestion.deal, "pk", None)
            if deal_id is not None and deal_id in seen_deals:
                continue
            if deal_id is not None:
                seen_deals.add(deal_id)
            chosen.append(suggestion)
            taken += 1
    return chosen


def kind_label(kind: str) -> str:
    """The short name of a kind of suggestion, for the badge beside it."""
    return {
        "overdue_follow_up": pgettext("next action", "Overdue"),
        "unhappy_answer": pgettext("next action", "Unhappy customer"),
        "probability_drop": pgettext("next action", "Probability fell"),
        "going_cold": pgettext("next action", "Going cold"),
        "no_next_step": pgettext("next action", "No next step"),
    }[kind]
