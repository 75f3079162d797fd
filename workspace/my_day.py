"""My day's long lists: the first few of each, how many there are in all, and the link to all of them.

A rep has hundreds of deals closing this month (327 at S=10) and may have dozens of follow-ups due;
the home page shows the most urgent few of each and links to the full list, filtered to the same
records. Each total is one COUNT, whatever the number of rows.
"""

from datetime import timedelta
from urllib.parse import urlencode

from django.urls import reverse

from crm.selectors import follow_ups_due, follow_ups_due_count
from pipeline.models import StageKind
from pipeline.selectors import deals_closing_this_month, deals_closing_this_month_count, this_month

# How many of each list My day shows: the oldest due follow-ups, the deals closing soonest.
FOLLOW_UPS_SHOWN = 10
CLOSING_DEALS_SHOWN = 10


def due_follow_ups(*, user, now=None) -> dict:
    """The card of follow-ups due today and overdue (also redrawn alone after done, snooze or finish)."""
    return {
        "follow_ups": list(follow_ups_due(user=user, now=now, limit=FOLLOW_UPS_SHOWN)),
        "follow_ups_total": follow_ups_due_count(user=user, now=now),
        "follow_ups_all_url": f"{reverse('crm:follow_up_list')}?{urlencode({'due': 'today_or_overdue'})}",
    }


def closing_deals(*, user, stage_ids=None, today=None) -> dict:
    """The card of the member's open deals expected to close this month, the soonest first."""
    start, end = this_month(today)
    query = {
        "owner": user.pk,
        "status": StageKind.OPEN.value,
        "expected_close_after": start.isoformat(),
        "expected_close_before": (end - timedelta(days=1)).isoformat(),  # the filter's bound is inclusive
        "o": "expected_close",
    }
    return {
        "closing_deals": list(
            deals_closing_this_month(user=user, today=today, stage_ids=stage_ids)[:CLOSING_DEALS_SHOWN]
        ),
        "closing_deals_total": deals_closing_this_month_count(user=user, today=today, stage_ids=stage_ids),
        "closing_deals_all_url": f"{reverse('pipeline:deal_list')}?{urlencode(query)}",
    }
