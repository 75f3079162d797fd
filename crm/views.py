"""Customer pages and actions."""

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import DetailView

from core.forms import add_service_errors as show_service_errors
from core.forms import already_sent, submit_once
from core.htmx import render_page_or_partial
from core.ids import parse_id
from core.mixins import EditableQuerysetMixin, VisibleQuerysetMixin
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
    follow_ups_due,
    follow_ups_for_list,
    timeline,
    with_company_counts,
)

# Companies and contacts ------------------------------------------------------

PAGE_SIZE = 25

# Service errors about a key the form has no field for are shown where the
# person can act on them: a team follows from the owner, E.164 from the typed phone.
_ERROR_FIELDS = {"team": "owner", "phone": "phone_raw"}


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, with crm's field aliases (core.forms.add_service_errors)."""
    show_service_errors(form, error, aliases=_ERROR_FIELDS)


class CustomerListView(VisibleQuerysetMixin, View):
    """A searchable, filterable, sortable list, 25 a page; HTMX gets only the results region."""

    filterset_class = None
    template_name = ""
    partial_template_name = ""
    default_sort = "name"
    # Sortable columns (the `o` parameter) and the direction of their first click:
    # dates start with the most recent.
    sortable = {}

    def get(self, request):
        filterset = self.filterset_class(request.GET, queryset=self.get_queryset(), request=request)
        valid = filterset.is_valid()
        # A stale or foreign filter value shows its error and no rows, never an unfiltered list.
        rows = filterset.qs if valid else filterset.queryset.none()
        page_obj = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        ordering = (filterset.form.cleaned_data.get("o") if valid else None) or [self.default_sort]
        context = {
            "filterset": filterset,
            "form": filterset.form,
            "page_obj": page_obj,
            "rows": page_obj.object_list,
            "sorting": self.sorting(ordering[0]),
            "is_filtered": any(filterset.form.data.get(name) for name in filterset.form.fields if name != "o"),
            # The filters stay folded unless one is in use or needs correcting.
            "filters_open": bool(filterset.form.errors)
            or any(filterset.form.data.get(name) for name in filterset.form.fields if name not in ("q", "o")),
        }
        if not request.htmx:
            context["cities"] = company_cities(user=request.user)
        return render_page_or_partial(request, self.template_name, self.partial_template_name, context)

    def sorting(self, current: str) -> dict:
        """For each sortable column: its aria-sort state and the `o` value its header link sets."""
        return sort_columns(current, self.sortable)


class CompanyListView(CustomerListView):
    model = Company
    filterset_class = CompanyFilterSet
    template_name = "crm/company_list.html"
    partial_template_name = "crm/partials/company_results.html"
    sortable = {"name": "name", "city": "city"}

    def get_base_queryset(self):
        companies = Company.objects.select_related("owner").order_by("name_normalized", "pk")
        return with_company_counts(companies, user=self.request.user)


class ContactListView(CustomerListView):
    model = Contact
    filterset_class = ContactFilterSet
    template_name = "crm/contact_list.html"
    partial_template_name = "crm/partials/contact_results.html"
    sortable = {"name": "name", "company": "company", "last_contacted_at": "-last_contacted_at"}

    def get_base_queryset(self):
        return Contact.objects.select_related("company", "owner").order_by("name_normalized", "pk")


class CustomerDetailView(VisibleQuerysetMixin, DetailView):
    """One customer; the edit link shows only to those who may edit it."""

    def get_base_queryset(self):
        return self.model.objects.select_related("owner", "team").prefetch_related("tags")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        editable = self.model.objects.editable_by(self.request.user).filter(pk=self.object.pk)
        context["can_edit"] = editable.exists()
        return context


class CompanyDetailView(CustomerDetailView):
    model = Company
    template_name = "crm/company_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, company = self.request.user, self.object
        context["contacts"] = Contact.objects.visible_to(user).filter(company=company).order_by("name_normalized", "pk")
        context["deals"] = customer_deals(user=user, company=company)
        context["country_name"] = country_name(company.country)
        context["working_follow_up"] = working_follow_up(self.request, company=company)
        context.update(activity_panel_context(self.request, company=company))
        return context


class ContactDetailView(CustomerDetailView):
    model = Contact
    template_name = "crm/contact_detail.html"

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("company")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["deals"] = customer_deals(user=self.request.user, contact=self.object)
        context.update(activity_panel_context(self.request, contact=self.object))
        context["working_follow_up"] = working_follow_up(self.request, contact=self.object)
        return context


def working_follow_up(request, **customer):
    """The open follow-up on this customer the rep came from My day to work on (?follow_up=), if theirs.

    The page's Call / WhatsApp / Email prompt then finishes it in the same tap.
    """
    pk = parse_id(request.GET.get("follow_up", ""))
    if pk is None:
        return None
    mine = FollowUp.objects.editable_by(request.user).filter(status="open", **customer)
    return mine.select_related("deal").filter(pk=pk).first()


class CustomerFormView(View):
    """Shared create/edit flow: validate the form, call the service, show its refusals on the form."""

    form_class = None
    template_name = ""
    saved_message = ""

    def render_form(self, form, *, status=200, **context):
        context.setdefault("object", None)
        return render(self.request, self.template_name, {"form": form, **context}, status=status)

    def save(self, form, record):
        raise NotImplementedError

    def save_once(self, form, record):
        return self.save(form, record)

    def handle(self, form, record=None, **context):
        if form.is_valid():
            try:
                saved = self.save_once(form, record)
            except FormAlreadySent as sent:
                return already_sent(self.request, sent, fallback=self.cancel_url())
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(self.request, self.saved_message)
                return redirect(saved)
        return self.render_form(form, status=400, object=record, **context)


class CustomerCreateView(LoginRequiredMixin, CustomerFormView):
    list_url = ""

    def get_initial(self):
        return {}

    def get(self, request):
        form = self.form_class(initial=self.get_initial(), user=request.user)
        return self.render_form(form, cancel_url=self.cancel_url())

    def post(self, request):
        form = self.form_class(request.POST, user=request.user)
        return self.handle(form, cancel_url=self.cancel_url())

    def cancel_url(self):
        return reverse(self.list_url)

    def save_once(self, form, record):
        # A double click or a resend of this page creates one record (core.forms.submit_once).
        return submit_once(self.request, form, lambda: self.save(form, record))


class CustomerUpdateView(EditableQuerysetMixin, CustomerFormView):
    def get_base_queryset(self):
        return self.model.objects.select_related("owner", "team")

    def get(self, request, pk: int):
        record = get_object_or_404(self.get_queryset(), pk=pk)
        form = self.form_class(instance=copy.copy(record), user=request.user)
        return self.render_form(form, object=record, cancel_url=record.get_absolute_url())

    def post(self, request, pk: int):
        record = get_object_or_404(self.get_queryset(), pk=pk)
        # Validating a ModelForm writes the new values into its instance; the
        # service must see the record as stored (to notice an owner or consent
        # change) and the page keeps the stored name, so each gets its own copy.
        form = self.form_class(request.POST, instance=copy.copy(record), user=request.user)
        return self.handle(form, record, cancel_url=record.get_absolute_url())


class CompanyCreateView(CustomerCreateView):
    form_class = CompanyForm
    template_name = "crm/company_form.html"
    list_url = "crm:company_list"
    saved_message = _("The company was saved.")

    def save(self, form, record):
        return services.company_create(by=self.request.user, **form.service_fields())


class CompanyUpdateView(CustomerUpdateView):
    model = Company
    form_class = CompanyForm
    template_name = "crm/company_form.html"
    saved_message = _("The company was saved.")

    def save(self, form, record):
        return services.company_update(company=copy.copy(record), by=self.request.user, **form.service_fields())


class ContactCreateView(CustomerCreateView):
    form_class = ContactForm
    template_name = "crm/contact_form.html"
    list_url = "crm:contact_list"
    saved_message = _("The contact was saved.")

    def company(self):
        """The company named by ?company= (from a company's page), if the user may see it."""
        if not hasattr(self, "_company"):
            pk = parse_id(self.request.GET.get("company", ""))
            visible = Company.objects.visible_to(self.request.user)
            self._company = visible.filter(pk=pk).first() if pk is not None else None
        return self._company

    def get_initial(self):
        return {"company": self.company().pk} if self.company() else {}

    def cancel_url(self):
        return self.company().get_absolute_url() if self.company() else super().cancel_url()

    def save(self, form, record):
        return services.contact_create(by=self.request.user, **form.service_fields())


class ContactUpdateView(CustomerUpdateView):
    model = Contact
    form_class = ContactForm
    template_name = "crm/contact_form.html"
    saved_message = _("The contact was saved.")

    def save(self, form, record):
        return services.contact_update(contact=copy.copy(record), by=self.request.user, **form.service_fields())


company_list = CompanyListView.as_view()
company_detail = CompanyDetailView.as_view()
company_create = CompanyCreateView.as_view()
company_update = CompanyUpdateView.as_view()
contact_list = ContactListView.as_view()
contact_detail = ContactDetailView.as_view()
contact_create = ContactCreateView.as_view()
contact_update = ContactUpdateView.as_view()


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


def _after_action(request, follow_up):
    """Answer a done/snooze/reopen click: the refreshed My day list, the refreshed row, or a redirect."""
    where = request.POST.get("from", "home")
    if request.htmx and where == "home":
        return render(request, "crm/partials/follow_up_list.html", {"follow_ups": follow_ups_due(user=request.user)})
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
                return render(
                    request, "crm/partials/follow_up_list.html", {"follow_ups": follow_ups_due(user=request.user)}
                )
            messages.success(request, gettext("The follow-up is done and its outcome logged."))
            return redirect("crm:follow_up_list" if request.GET.get("from") == "list" else "workspace:home")
    context = {"form": form, "follow_up": follow_up}
    status = (422 if request.htmx else 400) if form.errors else 200
    template = "crm/partials/follow_up_finish.html" if request.htmx else "crm/follow_up_finish.html"
    response = render(request, template, context, status=status)
    if request.htmx and form.errors:
        # The panel's form targets the My day list for its success; its errors stay in the panel.
        response["HX-Retarget"] = f"#finish-{follow_up.pk}"
        response["HX-Reswap"] = "innerHTML"
    return response
