"""Customer pages and actions (function views, like every HTML view in Safqa).

Visibility is applied here through the models' `visible_to(user)` / `editable_by(user)`: a record
outside them answers 404, exactly like one that does not exist.
"""

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.forms import add_service_errors as show_service_errors
from core.forms import already_sent, form_error_status, submit_once
from core.htmx import render_page_or_partial
from core.ids import parse_id
from core.services import FormAlreadySent
from core.sorting import sort_columns
from crm import services
from crm.countries import country_name
from crm.filtersets import CompanyFilterSet, ContactFilterSet, FollowUpFilterSet
from crm.forms import ActivityForm, CompanyForm, ContactForm, FollowUpForm
from crm.models import Activity, Company, Contact, FollowUp
from crm.selectors import (
    company_cities,
    customer_deals,
    follow_ups_for_list,
    timeline,
    with_company_counts,
)
from workspace import my_day

# Companies and contacts ------------------------------------------------------

PAGE_SIZE = 25

# Service errors about a key the form has no field for are shown where the
# person can act on them: a team follows from the owner, E.164 from the typed phone.
_ERROR_FIELDS = {"team": "owner", "phone": "phone_raw"}


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, with crm's field aliases (core.forms.add_service_errors)."""
    show_service_errors(form, error, aliases=_ERROR_FIELDS)


def _customer_list(request, *, queryset, filterset_class, template, partial, sortable, default_sort="name"):
    """A searchable, filterable, sortable list of what the user may see, 25 a page; HTMX gets only the results.

    `sortable`: the sortable columns (the `o` parameter) and the direction of their first click
    (dates start with the most recent).
    """
    filterset = filterset_class(request.GET, queryset=queryset.visible_to(request.user), request=request)
    valid = filterset.is_valid()
    # A stale or foreign filter value shows its error and no rows, never an unfiltered list.
    rows = filterset.qs if valid else filterset.queryset.none()
    page_obj = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    ordering = (filterset.form.cleaned_data.get("o") if valid else None) or [default_sort]
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "page_obj": page_obj,
        "rows": page_obj.object_list,
        # For each sortable column: its aria-sort state and the `o` value its header link sets.
        "sorting": sort_columns(ordering[0], sortable),
        "is_filtered": any(filterset.form.data.get(name) for name in filterset.form.fields if name != "o"),
        # The filters stay folded unless one is in use or needs correcting.
        "filters_open": bool(filterset.form.errors)
        or any(filterset.form.data.get(name) for name in filterset.form.fields if name not in ("q", "o")),
    }
    if not request.htmx:
        context["cities"] = company_cities(user=request.user)
    return render_page_or_partial(request, template, partial, context)


@login_required
@require_safe
def company_list(request):
    companies = Company.objects.select_related("owner").order_by("name_normalized", "pk")
    return _customer_list(
        request,
        queryset=with_company_counts(companies, user=request.user),
        filterset_class=CompanyFilterSet,
        template="crm/company_list.html",
        partial="crm/partials/company_results.html",
        sortable={"name": "name", "city": "city"},
    )


@login_required
@require_safe
def contact_list(request):
    return _customer_list(
        request,
        queryset=Contact.objects.select_related("company", "owner").order_by("name_normalized", "pk"),
        filterset_class=ContactFilterSet,
        template="crm/contact_list.html",
        partial="crm/partials/contact_results.html",
        sortable={"name": "name", "company": "company", "last_contacted_at": "-last_contacted_at"},
    )


def _customer_detail(request, queryset, pk: int):
    """One customer the user may see (else 404), and whether they may edit it (the edit link shows only then)."""
    record = get_object_or_404(queryset.visible_to(request.user), pk=pk)
    model = queryset.model
    can_edit = model.objects.editable_by(request.user).filter(pk=record.pk).exists()
    return record, {"object": record, model._meta.model_name: record, "can_edit": can_edit}


def _detail_queryset(model):
    return model.objects.select_related("owner", "team").prefetch_related("tags")


@login_required
@require_safe
def company_detail(request, pk: int):
    company, context = _customer_detail(request, _detail_queryset(Company), pk)
    user = request.user
    context["contacts"] = Contact.objects.visible_to(user).filter(company=company).order_by("name_normalized", "pk")
    context["deals"] = customer_deals(user=user, company=company)
    context["country_name"] = country_name(company.country)
    context["working_follow_up"] = working_follow_up(request, company=company)
    context.update(activity_panel_context(request, company=company))
    return render(request, "crm/company_detail.html", context)


@login_required
@require_safe
def contact_detail(request, pk: int):
    contact, context = _customer_detail(request, _detail_queryset(Contact).select_related("company"), pk)
    context["deals"] = customer_deals(user=request.user, contact=contact)
    context.update(activity_panel_context(request, contact=contact))
    context["working_follow_up"] = working_follow_up(request, contact=contact)
    return render(request, "crm/contact_detail.html", context)


def working_follow_up(request, **customer):
    """The open follow-up on this customer the rep came from My day to work on (?follow_up=), if theirs.

    The page's Call / WhatsApp / Email prompt then finishes it in the same tap.
    """
    pk = parse_id(request.GET.get("follow_up", ""))
    if pk is None:
        return None
    mine = FollowUp.objects.editable_by(request.user).filter(status="open", **customer)
    return mine.select_related("deal").filter(pk=pk).first()


def _customer_form(request, form, *, template, save, saved_message, cancel_url, record=None, once=False):
    """Shared create/edit flow: validate the form, call the service (`save()`), show its refusals on the form.

    `once`: a double click or a resend of this page creates one record (core.forms.submit_once).
    """
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = submit_once(request, form, save) if once else save()
            except FormAlreadySent as sent:
                return already_sent(request, sent, fallback=cancel_url)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, saved_message)
                return redirect(saved)
        status = 400
    else:
        status = 200
    return render(request, template, {"form": form, "object": record, "cancel_url": cancel_url}, status=status)


def _create_form(request, form_class, initial=None):
    if request.method == "POST":
        return form_class(request.POST, user=request.user)
    return form_class(initial=initial or {}, user=request.user)


def _editable_record(request, model, pk: int):
    """The record to edit, if the user may edit it; else 404."""
    return get_object_or_404(model.objects.select_related("owner", "team").editable_by(request.user), pk=pk)


def _edit_form(request, form_class, record):
    """The edit form, on a copy of the record.

    Validating a ModelForm writes the new values into its instance; the service must see the
    record as stored (to notice an owner or consent change) and the page keeps the stored name,
    so each gets its own copy (the services are given `copy.copy(record)`).
    """
    data = (request.POST,) if request.method == "POST" else ()
    return form_class(*data, instance=copy.copy(record), user=request.user)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def company_create(request):
    form = _create_form(request, CompanyForm)
    return _customer_form(
        request,
        form,
        template="crm/company_form.html",
        save=lambda: services.company_create(by=request.user, **form.service_fields()),
        saved_message=_("The company was saved."),
        cancel_url=reverse("crm:company_list"),
        once=True,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def company_update(request, pk: int):
    company = _editable_record(request, Company, pk)
    form = _edit_form(request, CompanyForm, company)
    return _customer_form(
        request,
        form,
        template="crm/company_form.html",
        save=lambda: services.company_update(company=copy.copy(company), by=request.user, **form.service_fields()),
        saved_message=_("The company was saved."),
        cancel_url=company.get_absolute_url(),
        record=company,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def contact_create(request):
    # The company named by ?company= (from a company's page), if the user may see it.
    pk = parse_id(request.GET.get("company", ""))
    company = Company.objects.visible_to(request.user).filter(pk=pk).first() if pk is not None else None
    form = _create_form(request, ContactForm, initial={"company": company.pk} if company else {})
    return _customer_form(
        request,
        form,
        template="crm/contact_form.html",
        save=lambda: services.contact_create(by=request.user, **form.service_fields()),
        saved_message=_("The contact was saved."),
        cancel_url=company.get_absolute_url() if company else reverse("crm:contact_list"),
        once=True,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def contact_update(request, pk: int):
    contact = _editable_record(request, Contact, pk)
    form = _edit_form(request, ContactForm, contact)
    return _customer_form(
        request,
        form,
        template="crm/contact_form.html",
        save=lambda: services.contact_update(contact=copy.copy(contact), by=request.user, **form.service_fields()),
        saved_message=_("The contact was saved."),
        cancel_url=contact.get_absolute_url(),
        record=contact,
    )


# Activities, follow-ups and the activity panel --------------------------------------

SUBJECTS = ("contact", "company", "deal")


def _subject_model(kind: str):
    from pipeline.models import Deal

    return {"contact": Contact, "company": Company, "deal": Deal}[kind]


def resolve_subject(request, data) -> dict:
    """The contact, company or deal a form is about, from `subject_type` and `subject_id`; 404 if not visible."""
    kind = data.get("subject_type")
    if kind not in SUBJECTS:
        raise Http404
    try:
        pk = int(data.get("subject_id", ""))
    except ValueError:
        raise Http404 from None
    model = _subject_model(kind)
    return {kind: get_object_or_404(model.objects.visible_to(request.user), pk=pk)}


def activity_panel_context(request, *, activity_form=None, follow_up_form=None, **subject) -> dict:
    """Everything the activity panel needs: its forms and the timeline, for one contact, company or deal."""
    ((kind, obj),) = subject.items()
    return {
        "panel_kind": kind,
        "panel_subject": obj,
        "activity_form": activity_form or ActivityForm(),
        "follow_up_form": follow_up_form or FollowUpForm(user=request.user),
        "timeline": timeline(user=request.user, **subject),
    }


def _subject_url(subject: dict) -> str:
    (obj,) = subject.values()
    if hasattr(obj, "get_absolute_url"):
        return obj.get_absolute_url()
    return "/"


def _render_panel(request, subject, status=200, **forms):
    return render(
        request, "crm/partials/activity_panel.html", activity_panel_context(request, **forms, **subject), status=status
    )


@login_required
@require_POST
def activity_log(request):
    """Log a call, meeting, email or note on a contact, company or deal, without leaving its page."""
    subject = resolve_subject(request, request.POST)
    # The instance carries what the activity is about, so the model's own checks see it.
    form = ActivityForm(request.POST, instance=Activity(**subject))
    if form.is_valid():
        try:
            submit_once(
                request,
                form,
                lambda: services.activity_log(by=request.user, **form.cleaned_data, **subject),
                result_url=lambda _activity: _subject_url(subject),
            )
        except FormAlreadySent as sent:
            return already_sent(request, sent, fallback=_subject_url(subject))
        except ValidationError as error:
            form.add_error(None, error)
    if form.errors:
        if request.htmx:
            return _render_panel(request, subject, status=422, activity_form=form)
        context = {"form": form, "subject": next(iter(subject.values())), "back": _subject_url(subject)}
        return render(request, "crm/activity_form.html", {**context, **_hidden(subject)}, status=400)
    if request.htmx:
        return _render_panel(request, subject)
    messages.success(request, gettext("The activity was logged."))
    return redirect(_subject_url(subject))


def _hidden(subject: dict) -> dict:
    ((kind, obj),) = subject.items()
    return {"subject_type": kind, "subject_id": obj.pk}


@login_required
def follow_up_create(request):
    """Schedule a follow-up, from a contact, company or deal page (HTMX) or on its own page."""
    source = request.POST if request.method == "POST" else request.GET
    subject = resolve_subject(request, source) if source.get("subject_type") else {}
    form = FollowUpForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        back = _subject_url(subject) if subject else reverse("crm:follow_up_list")
        try:
            submit_once(
                request,
                form,
                lambda: services.follow_up_schedule(by=request.user, **form.cleaned_data, **subject),
                result_url=lambda _follow_up: back,
            )
        except FormAlreadySent as sent:
            return already_sent(request, sent, fallback=back)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if request.htmx and subject:
                return _render_panel(request, subject)
            messages.success(request, gettext("The follow-up was scheduled."))
            return redirect(_subject_url(subject) if subject else "crm:follow_up_list")
    if request.method == "POST" and request.htmx and subject:
        return _render_panel(request, subject, status=422, follow_up_form=form)
    context = {"form": form, "subject": next(iter(subject.values()), None), **(_hidden(subject) if subject else {})}
    return render(request, "crm/follow_up_form.html", context, status=400 if form.errors else 200)


@login_required
def follow_up_list(request):
    """My follow-ups (or, for a manager, a team member's), filtered by status, due date and kind."""
    filterset = FollowUpFilterSet(request.GET or None, queryset=follow_ups_for_list(user=request.user), request=request)
    page = Paginator(filterset.qs, 25).get_page(request.GET.get("page"))
    context = {"filter": filterset, "page_obj": page, "follow_ups": page.object_list, "now": timezone.now()}
    template = "crm/partials/follow_up_table.html" if request.htmx else "crm/follow_up_list.html"
    return render(request, template, context)


@login_required
def follow_up_update(request, pk: int):
    """Reschedule, reassign or reword a follow-up."""
    follow_up = get_object_or_404(FollowUp.objects.editable_by(request.user).select_related("assignee"), pk=pk)
    stored = FollowUp.objects.get(pk=follow_up.pk)  # the form writes its values onto `follow_up`
    form = FollowUpForm(request.POST or None, instance=follow_up, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            # The service compares with the stored follow-up: a new time or assignee re-arms the reminder.
            values = {name: form.cleaned_data[name] for name in form._meta.fields}
            services.follow_up_update(follow_up=stored, by=request.user, **values)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, gettext("The follow-up was saved."))
            return redirect("crm:follow_up_list")
    return render(
        request, "crm/follow_up_form.html", {"form": form, "follow_up": follow_up}, status=400 if form.errors else 200
    )


def _my_day_follow_ups(request):
    """My day's due list after one of its follow-ups changed; the `follow-ups-changed` event tells the
    page's other sections that read follow-ups (the next best actions) to redraw themselves."""
    response = render(request, "crm/partials/follow_up_list.html", my_day.due_follow_ups(user=request.user))
    response["HX-Trigger"] = "follow-ups-changed"
    return response


def _after_action(request, follow_up):
    """Answer a done/snooze/reopen click: the refreshed My day list, the refreshed row, or a redirect."""
    where = request.POST.get("from", "home")
    if request.htmx and where == "home":
        return _my_day_follow_ups(request)
    if request.htmx and where == "list":
        return render(request, "crm/partials/follow_up_row.html", {"follow_up": follow_up, "now": timezone.now()})
    return redirect("crm:follow_up_list" if where == "list" else "workspace:home")


@login_required
@require_POST
def follow_up_snooze(request, pk: int):
    """Push a follow-up to tomorrow at 09:00 in the user's time zone, in one click."""
    follow_up = get_object_or_404(FollowUp.objects.editable_by(request.user).select_related("assignee"), pk=pk)
    services.follow_up_snooze(follow_up=follow_up, by=request.user)
    return _after_action(request, follow_up)


@login_required
@require_POST
def follow_up_reopen(request, pk: int):
    follow_up = get_object_or_404(FollowUp.objects.editable_by(request.user), pk=pk)
    services.follow_up_reopen(follow_up=follow_up, by=request.user)
    return _after_action(request, follow_up)


@login_required
@require_POST
def follow_up_done(request, pk: int):
    """Mark a follow-up done in one click."""
    follow_up = get_object_or_404(FollowUp.objects.editable_by(request.user), pk=pk)
    services.follow_up_complete(follow_up=follow_up, by=request.user)
    return _after_action(request, follow_up)


# Actions where the customer is: the "log it" prompt and finishing a follow-up ----------


@login_required
@require_POST
def quick_log(request):
    """Log a tap on Call / WhatsApp / Email on that customer (and deal), with the next step, in one tap.

    With `follow_up` (the My day item the rep came from) that follow-up is finished in the same
    service call: outcome logged, follow-up done, next step scheduled.
    """
    from crm.channels import KINDS, LABELS
    from crm.models import ActivityOutcome
    from pipeline.models import Deal

    subject = resolve_subject(request, request.POST)
    channel, outcome = request.POST.get("channel", ""), request.POST.get("outcome", "")
    deal = follow_up = None
    if request.POST.get("deal"):
        deal = get_object_or_404(Deal.objects.visible_to(request.user), pk=parse_id(request.POST["deal"]) or 0)
    if request.POST.get("follow_up"):
        follow_up = get_object_or_404(
            FollowUp.objects.editable_by(request.user).select_related("contact", "company", "deal"),
            pk=parse_id(request.POST["follow_up"]) or 0,
        )
    error = None
    next_step = request.POST.get("next_step", "none")
    if channel not in LABELS:
        error = gettext("Choose how you contacted the customer.")
    elif outcome and outcome not in ActivityOutcome.values:
        error = gettext("Choose what came of it.")
    elif next_step != "none" and next_step not in services.NEXT_STEP_DAYS:
        error = gettext("Choose when the next step is.")
    if error is None:
        next_due_at = None if next_step == "none" else services.next_step_due(next_step, by=request.user)
        try:
            if follow_up is not None and follow_up.status == "open":
                result = services.follow_up_complete_with_outcome(
                    follow_up=follow_up, by=request.user, kind=KINDS[channel], outcome=outcome, next_due_at=next_due_at
                )
            else:
                result = services.activity_log_with_next_step(
                    by=request.user,
                    kind=KINDS[channel],
                    outcome=outcome,
                    subject=str(LABELS[channel][0]),
                    deal=deal,
                    next_due_at=next_due_at,
                    **subject,
                )
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
    if error is not None:
        if request.htmx:
            return render(request, "crm/partials/quick_log_result.html", {"error": error}, status=422)
        messages.error(request, error)
        return redirect(_subject_url(subject))
    context = {"activity": result.activity, "next_follow_up": result.next_follow_up}
    if request.htmx:
        return render(request, "crm/partials/quick_log_result.html", context)
    messages.success(request, gettext("The activity was logged."))
    return redirect(_subject_url(subject))


def _next_due(form, by):
    """The due time the panel's next-step choice stands for (None: no next step)."""
    from datetime import datetime, time

    from core.i18n import user_zone

    choice = form.cleaned_data["next_step"]
    if choice == "none":
        return None
    if choice == "date":
        return datetime.combine(form.cleaned_data["next_date"], time(9, 0), tzinfo=user_zone(by))
    return services.next_step_due(choice, by=by)


@login_required
def follow_up_finish(request, pk: int):
    """Finish a follow-up in one step: its outcome and its next step (HTMX panel, or a page without JS)."""
    from crm.forms import FollowUpFinishForm

    follow_up = get_object_or_404(
        FollowUp.objects.editable_by(request.user).select_related("contact", "company", "deal"), pk=pk
    )
    form = FollowUpFinishForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.follow_up_complete_with_outcome(
                follow_up=follow_up,
                by=request.user,
                outcome=form.cleaned_data["outcome"],
                kind=form.cleaned_data["kind"],
                note=form.cleaned_data["note"],
                next_due_at=_next_due(form, request.user),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if request.htmx:
                return _my_day_follow_ups(request)
            messages.success(request, gettext("The follow-up is done and its outcome logged."))
            return redirect("crm:follow_up_list" if request.GET.get("from") == "list" else "workspace:home")
    context = {"form": form, "follow_up": follow_up}
    status = form_error_status(request) if form.errors else 200
    template = "crm/partials/follow_up_finish.html" if request.htmx else "crm/follow_up_finish.html"
    response = render(request, template, context, status=status)
    if request.htmx and form.errors:
        # The panel's form targets the My day list for its success; its errors stay in the panel.
        response["HX-Retarget"] = f"#finish-{follow_up.pk}"
        response["HX-Reswap"] = "innerHTML"
    return response
