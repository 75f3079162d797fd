"""Support case pages: the list (filters shared with the API), opening a case, its page, edits, status, work log.

Function views: they parse and check; every write goes through cases/services.py, every read through
`Case.objects.visible_to(user)` (writes: `editable_by(user)`). A form with errors answers 400 (422 for
HTMX), a stale write 409, a case the user may not see (or edit, on a write URL) 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cases import services
from cases.filtersets import CaseFilterSet
from cases.forms import CaseForm, CaseStatusForm
from cases.models import Case, CaseStatus
from core import formatting
from core.exceptions import StaleVersionError
from core.forms import add_service_errors, already_sent, form_error_status, submit_once
from core.services import FormAlreadySent
from core.sorting import sort_columns
from crm.forms import ActivityForm
from crm.models import Activity, Contact
from pipeline.models import Deal

PAGE_SIZE = 25


def _cases():
    return Case.objects.select_related("contact", "company", "deal", "owner", "team")


@login_required
@require_safe
def case_list(request):
    """cases/: every case the user may see, filtered (status, priority, owner, overdue, search), 25 a page."""
    filterset = CaseFilterSet(request.GET, queryset=Case.objects.visible_to(request.user), request=request)
    rows = filterset.qs.select_related("contact", "company", "owner")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    ordering = filterset.ordering
    current = f"{'-' if ordering[1] else ''}{ordering[0]}" if ordering else None
    sort = sort_columns(current, {field: field for field in CaseFilterSet.ordering_fields})
    filters_used = [name for name, value in request.GET.items() if value and name not in ("o", "page")]
    context = {
        "paginator": page.paginator,
        "page_obj": page,
        "is_paginated": page.has_other_pages(),
        "object_list": page.object_list,
        "cases": page.object_list,
        "filterset": filterset,
        "sort": sort,
        "filters_used": bool(filters_used),
    }
    return render(request, "cases/case_list.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def case_create(request):
    """cases/new/: open a case; `?contact=` or `?deal=` (from their pages) fills in the customer."""
    if request.method != "POST":
        initial = {}
        deal_id, contact_id = request.GET.get("deal", ""), request.GET.get("contact", "")
        if deal_id.isdigit():
            deal = Deal.objects.visible_to(request.user).filter(pk=int(deal_id)).first()
            if deal is not None:
                initial.update(deal=deal.pk, contact=deal.contact_id)
        if contact_id.isdigit() and Contact.objects.visible_to(request.user).filter(pk=int(contact_id)).exists():
            initial["contact"] = int(contact_id)
        return render(request, "cases/case_form.html", {"form": CaseForm(user=request.user, initial=initial)})
    form = CaseForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            case = submit_once(request, form, lambda: services.case_create(by=request.user, **form.service_kwargs()))
        except FormAlreadySent as sent:
            return already_sent(request, sent, fallback=reverse("cases:case_list"))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("The case “%(subject)s” was opened.") % {"subject": formatting.isolate(case.subject)}
            )
            return redirect(case)
    return render(request, "cases/case_form.html", {"form": form}, status=form_error_status(request))


def _detail_context(request, case: Case, *, status_form=None, activity_form=None) -> dict:
    can_edit = Case.objects.editable_by(request.user).filter(pk=case.pk).exists()
    activities = (
        Activity.objects.visible_to(request.user)
        .filter(case=case)
        .select_related("actor")
        .order_by("-occurred_at", "-pk")[:200]
    )
    return {
        "case": case,
        "can_edit": can_edit,
        "status_form": (status_form or CaseStatusForm(user=request.user, case=case)) if can_edit else None,
        "activity_form": (activity_form or ActivityForm()) if can_edit else None,
        "activities": activities,
    }


@login_required
@require_safe
def case_detail(request, pk: int):
    """cases/<pk>/: the case's facts, its status (change it, solve it), and the work logged on it."""
    case = get_object_or_404(_cases().visible_to(request.user), pk=pk)
    return render(request, "cases/case_detail.html", {"object": case, **_detail_context(request, case)})


def _editable_case(request, pk: int) -> Case:
    """Write URLs: only cases the user may edit; any other answers 404, like a case that does not exist."""
    return get_object_or_404(_cases().editable_by(request.user), pk=pk)


def _render_detail(request, case, status, **forms):
    return render(request, "cases/case_detail.html", _detail_context(request, case, **forms), status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def case_update(request, pk: int):
    """cases/<pk>/edit/: subject, customer, deal, priority, description, owner; a stale form is refused (409)."""
    case = _editable_case(request, pk)
    if request.method != "POST":
        return render(
            request, "cases/case_form.html", {"form": CaseForm(user=request.user, instance=case), "case": case}
        )
    form = CaseForm(request.POST, user=request.user, instance=case)
    status = form_error_status(request)
    if form.is_valid():
        try:
            case = services.case_update(
                case=case, by=request.user, expected_version=form.cleaned_data["version"], **form.service_kwargs()
            )
        except StaleVersionError as error:
            form.add_error(None, error.message)
            status = 409
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The case was saved."))
            return redirect(case)
    return render(request, "cases/case_form.html", {"form": form, "case": case}, status=status)


@login_required
@require_POST
def case_status(request, pk: int):
    """POST cases/<pk>/status/: a new status (solving may send a survey); the case page with errors otherwise."""
    case = _editable_case(request, pk)
    form = CaseStatusForm(request.POST, user=request.user, case=case)
    status = form_error_status(request)
    if form.is_valid():
        data = form.cleaned_data
        try:
            case = services.case_change_status(
                case=case,
                by=request.user,
                status=data["status"],
                expected_version=data["version"],
                survey_template=data.get("survey_template"),
            )
        except StaleVersionError as error:
            form.add_error(None, error.message)
            status = 409
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if case.status == CaseStatus.SOLVED and data.get("survey_template") is not None:
                messages.success(request, _("The case is solved and the customer was asked how it went."))
            else:
                messages.success(request, _("The case is now “%(status)s”.") % {"status": case.get_status_display()})
            return redirect(case)
    return _render_detail(request, case, status, status_form=form)


@login_required
@require_POST
def case_activity(request, pk: int):
    """POST cases/<pk>/activities/: log a call, meeting, email or note on the case (the first is its response)."""
    case = _editable_case(request, pk)
    form = ActivityForm(request.POST, instance=Activity(contact=case.contact, case=case))
    if form.is_valid():
        try:
            submit_once(
                request,
                form,
                lambda: services.case_log_activity(case=case, by=request.user, **form.cleaned_data),
                result_url=lambda _activity: case.get_absolute_url(),
            )
        except FormAlreadySent as sent:
            return already_sent(request, sent, fallback=case.get_absolute_url())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The activity was logged on the case."))
            return redirect(case)
    return _render_detail(request, case, form_error_status(request), activity_form=form)
