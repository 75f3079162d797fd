"""My day: the home page of a signed-in member."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from analytics.selectors import my_quota_progress
from assistant.next_actions import next_actions
from cases.selectors import my_open_cases
from pipeline.selectors import going_cold, open_deal_totals, open_stage_ids
from workspace import my_day


@login_required
def home(request):
    due = my_day.due_follow_ups(user=request.user)
    # The open stages' ids, read once: every card of the member's open deals filters on them.
    stage_ids = open_stage_ids()
    cold = going_cold(user=request.user, stage_ids=stage_ids)
    context = {
        # What to do now, ranked; it reuses the due follow-ups (the card's first few and their total) and the
        # going-cold deals read for the cards below.
        "next_actions": next_actions(
            user=request.user,
            due_follow_ups=due["follow_ups"],
            due_follow_ups_total=due["follow_ups_total"],
            going_cold_deals=cold,
            stage_ids=stage_ids,
        ),
        **due,
        "deal_totals": open_deal_totals(user=request.user, stage_ids=stage_ids),
        **my_day.closing_deals(user=request.user, stage_ids=stage_ids),
        "going_cold": cold,
        "quota_progress": my_quota_progress(user=request.user),
        "my_cases": my_open_cases(user=request.user),
    }
    return render(request, "core/home.html", context)
