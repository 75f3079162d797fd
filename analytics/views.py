"""Dashboards (team and rep), their drill-down lists and CSV exports, and setting sales targets."""

import csv
import datetime
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import Quota, User
from accounts.services import quota_set
from analytics.days import local_date
from analytics.forms import DashboardForm, QuotaForm
from analytics.selectors import LEADERBOARD_SORTS, Dashboard
from core import formatting
from core.csvsafe import spreadsheet_cell
from core.forms import already_sent, submit_once
from core.querysets import managed_people_q, sees_only_self
from core.services import FormAlreadySent
from crm.models import ActivityKind
from pipeline.selectors import currency_totals

EXPORTS = ("sales", "activities", "quotas", "funnel", "trend", "leaderboard", "forecast", "loss_reasons", "competitors")
DRILLDOWNS = ("won", "lost", "closed", "created", "created_won", "forecast")


@dataclass
class Cell:
    """A table cell: the raw value (exports) and how the page shows it."""

    value: object
    display: str
    numeric: bool = False


def _text(value) -> Cell:
    return Cell("" if value is None else str(value), "—" if value in (None, "") else str(value))


def _count(value) -> Cell:
    return Cell("", "—", True) if value is None else Cell(value, formatting.count(value), True)


def _percent(value) -> Cell:
    return Cell("", "—", True) if value is None else Cell(value, formatting.percent(value), True)


def _decimal(value) -> Cell:
    return Cell("", "—", True) if value is None else Cell(value, formatting.decimal(value), True)


def _amount(value, currency) -> Cell:
    return Cell(value, formatting.money(value, currency), True)


def _date(value) -> Cell:
    return Cell(value.isoformat(), formatting.date(value))


def _month(value) -> Cell:
    return Cell(value.strftime("%Y-%m"), formatting.month(value))


def _table(table_id, caption, columns, rows):
    return {"id": table_id, "caption": caption, "columns": columns, "rows": rows}


def build_tables(board: Dashboard, sort: str, descending: bool) -> dict[str, dict]:
    """Every table of the dashboard, in the shape shared by the page, the chart alternatives and the CSV exports."""
    headline = board.headline
    tables = {}
    tables["sales"] = _table(
        "sales",
        _("Sales per currency"),
        [_("Currency"), _("Total sales"), _("Deals won"), _("Average deal value")],
        [
            [
                _text(row["currency"]),
                _amount(row["won_value"], row["currency"]),
                _count(row["won_count"]),
                _amount(row["average"], row["currency"]),
            ]
            for row in headline["per_currency"]
        ],
    )
    kinds = list(ActivityKind.choices)
    names = {rep.pk: rep for rep in board.reps}
    tables["activities"] = _table(
        "activities",
        _("Activities per rep by type"),
        [_("Sales rep"), *[label for _kind, label in kinds], _("Total")],
        [
            [_text(names[rep_id]), *[_count(per.get(kind, 0)) for kind, _label in kinds], _count(sum(per.values()))]
            for rep_id, per in sorted(board.activities.items(), key=lambda item: str(names.get(item[0], "")))
            if rep_id in names
        ],
    )
    tables["quotas"] = _table(
        "quotas",
        _("Sales targets"),
        [
            _("Sales rep"),
            _("Period"),
            _("Target won value"),
            _("Won value"),
            _("Attainment"),
            _("Period elapsed"),
            _("Pace"),
            _("Won deals"),
            _("Target won deals"),
            _("Activities"),
            _("Target activities"),
        ],
        [
            [
                _text(p["quota"].rep),
                Cell(
                    f"{p['quota'].period_start}/{p['quota'].period_end}",
                    f"{formatting.date(p['quota'].period_start)} – {formatting.date(p['quota'].period_end)}",
                ),
                _amount(p["quota"].target_won_value, p["quota"].currency),
                _amount(p["won_value"], p["quota"].currency),
                _percent(p["value_attainment"]),
                _percent(p["elapsed_share"]),
                _text(
                    _("On track")
                    if p["on_track"]
                    else _("Behind by %(amount)s") % {"amount": formatting.money(p["behind_by"], p["quota"].currency)}
                ),
                _count(p["won_count"]),
                _count(p["quota"].target_won_deals),
                _count(p["activities"]),
                _count(p["quota"].target_activities),
            ]
            for p in board.quota_progress
        ],
    )
    tables["funnel"] = _table(
        "funnel",
        _("Deals entering each stage"),
        [
            _("Pipeline"),
            _("Stage"),
            _("Entries"),
            _("Exits"),
            _("Conversion from the previous stage"),
            _("Median days in stage (approx.)"),
        ],
        [
            [
                _text(row["stage"].pipeline),
                _text(row["stage"]),
                _count(row["entries"]),
                _count(row["exits"]),
                _percent(row["conversion"]),
                _decimal(row["median_days"]),
            ]
            for row in board.funnel
        ],
    )
    trend = board.trend
    tables["trend"] = _table(
        "trend",
        _("Won value per week against the target"),
        [_("Week starting"), _("Currency"), _("Won value"), _("Target")],
        [
            [
                _date(week),
                _text(series["currency"]),
                _amount(series["won"][index], series["currency"]),
                _amount(series["target"][index], series["currency"]),
            ]
            for series in trend["series"]
            for index, week in enumerate(trend["weeks"])
        ],
    )
    tables["leaderboard"] = _table(
        "leaderboard",
        _("Leaderboard"),
        [
            _("Sales rep"),
            _("Total sales"),
            _("Deals won"),
            _("Win rate"),
            _("Average sales cycle (days)"),
            _("Activities"),
            _("Target attainment"),
        ],
        [
            [
                _text(row["rep"]),
                Cell(
                    " ".join(f"{item['value']} {item['currency']}" for item in row["won_values"]),
                    " · ".join(formatting.money(item["value"], item["currency"]) for item in row["won_values"]) or "—",
                    True,
                ),
                _count(row["won_count"]),
                _percent(row["win_rate"]),
                _decimal(row["cycle_days"]),
                _count(row["activities"]),
                _percent(row["attainment"]),
            ]
            for row in board.sorted_leaderboard(sort, descending)
        ],
    )
    tables["forecast"] = _table(
        "forecast",
        _("Forecast: open deals by expected close month"),
        [
            _("Month"),
            _("Currency"),
            _("Open deals"),
            _("Commit (probability ≥ 70 %)"),
            _("Best case"),
            _("Weighted"),
            _("Weighted by the win model"),
            _("Target"),
        ],
        [
            [
                _month(row["month"]),
                _text(row["currency"]),
                _count(row["count"]),
                _amount(row["commit"], row["currency"]),
                _amount(row["best_case"], row["currency"]),
                _amount(row["weighted"], row["currency"]),
                _amount(row["model_weighted"], row["currency"]) if row["model_weighted"] is not None else _text(None),
                _amount(row["target"], row["currency"]) if row["target"] is not None else _text(None),
            ]
            for row in board.forecast
        ],
    )
    arabic = (get_language() or "ar").startswith("ar")
    tables["loss_reasons"] = _table(
        "loss_reasons",
        _("Top loss reasons"),
        [_("Loss reason"), _("Lost deals")],
        [
            [
                _text(
                    (row["loss_reason__name"] if arabic else row["loss_reason__name_en"] or row["loss_reason__name"])
                    or _("No reason given")
                ),
                _count(row["count"]),
            ]
            for row in board.losses["reasons"]
        ],
    )
    tables["competitors"] = _table(
        "competitors",
        _("Top competitors"),
        [_("Competitor"), _("Lost deals")],
        [[_text(row["competitor"]), _count(row["count"])] for row in board.losses["competitors"]],
    )
    return tables


def charts_data(board: Dashboard, tables) -> dict:
    """What dashboard.js draws; every chart also has its table on the page."""
    trend = board.trend
    currencies = {s["currency"] for s in trend["series"]} | {row["currency"] for row in board.forecast}
    return {
        # Numbers and amounts are written in the browser with the page's digits; dates and labels come written.
        "format": formatting.chart_format(sorted(currencies)),
        "trend": {
            "labels": [formatting.date(week) for week in trend["weeks"]],
            "series": [
                {"currency": s["currency"], "won": [str(v) for v in s["won"]], "target": [str(v) for v in s["target"]]}
                for s in trend["series"]
            ],
            "won_label": _("Won value"),
            "target_label": _("Target"),
        },
        "funnel": {
            "labels": [str(row["stage"]) for row in board.funnel],
            "entries": [row["entries"] for row in board.funnel],
            "label": _("Entries"),
        },
        "forecast": {
            "rows": [
                {
                    "month": formatting.month(row["month"]),
                    "currency": row["currency"],
                    "commit": str(row["commit"]),
                    "best_case": str(row["best_case"]),
                    "target": str(row["target"]) if row["target"] else None,
                }
                for row in board.forecast
            ],
            "commit_label": _("Commit"),
            "best_label": _("Best case"),
            "target_label": _("Target"),
        },
        "activities": {
            "labels": [row[0].display for row in tables["activities"]["rows"]],
            "datasets": [
                {"label": str(label), "data": [row[index + 1].value for row in tables["activities"]["rows"]]}
                for index, (_kind, label) in enumerate(ActivityKind.choices)
            ],
        },
    }


def _board_from_request(request):
    now = timezone.now()
    today = local_date(request.user.time_zone, now)
    form = DashboardForm(request.GET or None, user=request.user, today=today)
    if request.GET and form.is_valid():
        filters = form.filters()
    else:
        # Keep what is valid, the period above all: a refused choice (a rep out of reach) is dropped on
        # its own and shown on the form, rather than the page falling back to this month's figures.
        kept = {key: value for key, value in request.GET.items() if key not in form.errors}
        fallback = DashboardForm(kept, user=request.user, today=today)
        if not fallback.is_valid():
            fallback = DashboardForm({}, user=request.user, today=today)
            fallback.is_valid()
        filters = fallback.filters()
    return form, Dashboard(user=request.user, filters=filters, now=now)


def _query(request, **changes) -> str:
    params = {key: value for key, value in request.GET.items() if key not in ("export", "page")}
    params.update({key: value for key, value in changes.items() if value is not None})
    return urlencode(params)


def _csv(table) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="safqa-{table["id"]}.csv"'
    # The byte order mark makes Excel read the file as UTF-8, so Arabic names survive.
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([spreadsheet_cell(column) for column in table["columns"]])
    for row in table["rows"]:
        writer.writerow([spreadsheet_cell(cell.value) for cell in row])
    return response


@login_required
def dashboard(request):
    """The team dashboard; a member who manages no team sees the same page about themselves only."""
    form, board = _board_from_request(request)
    sort = request.GET.get("sort", "won_value")
    if sort not in LEADERBOARD_SORTS:
        sort = "won_value"
    descending = request.GET.get("dir", "desc") != "asc"
    tables = build_tables(board, sort, descending)
    export = request.GET.get("export")
    if export:
        if export not in tables:
            raise Http404(_("There is no such table on the dashboard."))
        return _csv(tables[export])
    sort_links = {
        key: {
            "query": _query(request, sort=key, dir="asc" if sort == key and descending else "desc"),
            "state": ("descending" if descending else "ascending") if sort == key else "none",
        }
        for key in LEADERBOARD_SORTS
    }
    context = {
        "form": form,
        "board": board,
        "period": board.period,
        "headline": board.headline,
        "tables": tables,
        "charts": charts_data(board, tables),
        "sort_links": sort_links,
        "self_only": board.self_only,
        "filter_query": _query(request),
    }
    context["exports"] = {name: _query(request, export=name) for name in EXPORTS}
    return render(request, "analytics/dashboard.html", context)


def _is_month(value: str) -> bool:
    """Whether `value` is a real calendar month as YYYY-MM (year 1 to 9999, month 1 to 12, ASCII digits).

    The deals are filtered by the month's year, whose date range Python cannot build for year 0.
    """
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}", value):
        return False
    try:
        datetime.date(int(value[:4]), int(value[5:]), 1)
    except ValueError:
        return False
    return True


@login_required
def drilldown(request):
    """The deals behind one figure of the dashboard, with the same period and filters: they add up to it."""
    figure = request.GET.get("figure")
    if figure not in DRILLDOWNS:
        raise Http404(_("There is no such figure on the dashboard."))
    form, board = _board_from_request(request)
    month = request.GET.get("month")
    if month and not _is_month(month):
        # A 400 page with the message (core.middleware.ServiceErrorMiddleware).
        raise ValidationError(_("The month is not valid: give a year and a month, e.g. 2026-03."))
    deals = board.drilldown(figure, month=month, bucket=request.GET.get("bucket"))
    totals = currency_totals(deals)
    deals = deals.select_related("owner", "stage", "company", "pipeline").order_by("-closed_at", "-created_at", "pk")
    page = Paginator(deals, 50).get_page(request.GET.get("page"))
    titles = {
        "won": _("Deals won"),
        "lost": _("Deals lost"),
        "closed": _("Deals closed"),
        "created": _("Deals created"),
        "created_won": _("Deals created in the period and won"),
        "forecast": _("Open deals expected to close"),
    }
    context = {
        "title": titles[figure],
        "form": form,
        "period": board.period,
        "deals": page.object_list,
        "page_obj": page,
        "paginator": page.paginator,
        "is_paginated": page.has_other_pages(),
        "totals": totals,
        "count": sum(row["count"] for row in totals),
        "back_query": _query(request, figure=None),
    }
    return render(request, "analytics/drilldown.html", context)


def _quota_reps(user):
    return User.objects.filter(managed_people_q(user), is_active=True)


@login_required
def quotas(request):
    """Sales targets: managers set them for the reps of their teams, admins for anyone; reps only read theirs."""
    reps = _quota_reps(request.user)
    can_set = reps.exists()
    form = QuotaForm(request.POST or None, reps=reps, initial={"start": timezone.localdate()})
    status = 200
    if request.method == "POST":
        if not can_set:
            raise PermissionDenied(_("You can set targets only for the members of the teams you manage."))
        if form.is_valid():
            data = form.cleaned_data
            try:
                submit_once(
                    request,
                    form,
                    lambda: quota_set(
                        rep=data["rep"],
                        kind=data["period_kind"],
                        start=data["start"],
                        target_won_value=data["target_won_value"],
                        currency=data["currency"],
                        target_won_deals=data["target_won_deals"],
                        target_activities=data["target_activities"],
                        by=request.user,
                    ),
                    result_url=lambda _quota: reverse("analytics:quotas"),
                )
            except FormAlreadySent as sent:
                return already_sent(request, sent, fallback=reverse("analytics:quotas"))
            except PermissionDenied as error:
                form.add_error("rep", str(error))
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for name, errors in error.message_dict.items():
                        form.add_error(name if name in form.fields else None, errors)
                else:
                    form.add_error(None, error.messages)
            else:
                messages.success(request, _("The target is saved."))
                return redirect("analytics:quotas")
        status = 400
    history = (
        Quota.objects.visible_to(request.user)
        .select_related("rep", "set_by")
        .order_by("-period_start", "rep__first_name", "rep__username", "-created_at")[:200]
    )
    context = {"form": form, "can_set": can_set, "history": history, "self_only": sees_only_self(request.user)}
    return render(request, "analytics/quotas.html", context, status=status)
