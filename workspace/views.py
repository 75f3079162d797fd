"""My day: the home page of a signed-in member."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from analytics.selectors import my_quota_progress
from cases.selectors import my_open_cases
from crm.selectors import follow_ups_due
from pipeline.selectors import deals_closing_this_month, going_cold, open_deal_totals


@login_required
def home(request):
    context = {
        "follow_ups": follow_ups_due(user=request.user),
        "deal_totals": open_deal_totals(user=request.user),
        "closing_deals": deals_closing_this_month(user=request.user),
        "going_cold": going_cold(user=request.user),
        "quota_progress": my_quota_progress(user=request.user),
        "my_cases": my_open_cases(user=request.user),
    }
    return render(request, "core/home.html", context)
