"""The responses and cases behind a support figure of the dashboard (same period and filters: they add up to it)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from analytics import support
from analytics.views import _board_from_request, _query


def _titles() -> dict:
    return {
        "surveys_sent": _("Surveys sent"),
        "responses": _("Survey responses"),
        "csat_responses": _("CSAT responses"),
        "csat_satisfied": _("Satisfied CSAT responses (4–5)"),
        "nps_responses": _("NPS responses"),
        "nps_promoters": _("NPS promoters (9–10)"),
        "nps_detractors": _("NPS detractors (0–6)"),
        "cases_opened": _("Support cases opened"),
        "cases_solved": _("Support cases solved"),
        "cases_responded": _("Support cases first answered"),
        "cases_overdue": _("Support cases overdue"),
    }


@login_required
def support_drilldown(request):
    figure = request.GET.get("figure")
    if figure not in support.DRILLDOWNS:
        raise Http404(_("There is no such figure on the dashboard."))
    form, board = _board_from_request(request)
    rows = support.drilldown(board, figure)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    kind = "survey" if figure == "surveys_sent" else "response" if figure in support.SURVEY_DRILLDOWNS else "case"
    context = {
        "title": _titles()[figure],
        "kind": kind,
        "form": form,
        "period": board.period,
        "rows": page.object_list,
        "page_obj": page,
        "paginator": page.paginator,
        "is_paginated": page.has_other_pages(),
        "back_query": _query(request, figure=None),
    }
    return render(request, "analytics/support_drilldown.html", context)
