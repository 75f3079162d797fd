"""The home page and the health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from analytics.dashboard import my_quota_progress
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
    }
    return render(request, "core/home.html", context)


@never_cache
def healthz(request):
    """Liveness and database reachability, for load balancers and docker-compose."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
