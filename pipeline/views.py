"""Deal pages and the pipeline board.

Views parse and check; every write goes through pipeline/services.py and every
read through the visibility mixins or the selectors. Answers:

- a form with errors: 400 for a plain form POST, 422 for an HTMX request (the
  status base.html's htmx-config swaps, so the errors show in place);
- a write that names an old version: 409, nothing changed;
- a deal the user may not see, or may see but not edit on a write URL: 404.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, ListView
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from accounts.selectors import assignable_owners
from core import formatting
from core.exceptions import StaleVersionError
from core.forms import add_service_errors, already_sent, submit_once
from core.mixins import EditableQuerysetMixin, VisibleQuerysetMixin
from core.services import FormAlreadySent
from core.sorting import sort_columns
from crm.views import activity_panel_context
from pipeline import services
from pipeline.filtersets import DealFilterSet
from pipeline.forms import (
    DealForm,
    LostForm,
    MoveForm,
    QuickAddForm,
    VersionForm,
    first_error,
    quick_currency_choices,
)
from pipeline.models import Deal, Pipeline, Stage, StageKind
from pipeline.selectors import (
    board_deals,
    board_stages,
    currency_totals,
    deal_stage_history,
    next_follow_up_at,
    quick_add_companies,
    stage_summaries,
)

PAGE_SIZE = 25


def _form_error_status(request) -> int:
    return 422 if request.htmx else 400


def _next_url(request, fallback: str) -> str:
    """The page to go back to after an action: `next` when it is on this site, else `fallback`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _refused(request, deal: Deal, message: str, status: int):
    """An action that changed nothing: one line for the board and HTMX, a page for a plain form POST."""
    if request.htmx:
        return render(request, "pipeline/partials/refused.html", {"message": message}, status=status)
    context = {"deal": deal, "message": message, "back_url": _next_url(request, deal.get_absolute_url())}
    return render(request, "pipeline/deal_refused.html", context, status=status)


class DealListView(VisibleQuerysetMixin, ListView):
    """deals/: every deal the user may see, filtered, sorted, 25 a page, with totals per currency."""

    model = Deal
    template_name = "pipeline/deal_list.html"
    context_object_name = "deals"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        self.filterset = DealFilterSet(self.request.GET, queryset=super().get_queryset(), request=self.request)
        return self.filterset.qs.select_related("company", "owner", "stage", "pipeline")

    def paginate_queryset(self, queryset, page_size):
        # get_page() answers the last page for a number past the end instead of a 404.
        paginator = self.get_paginator(queryset, page_size)
        page = paginator.get_page(self.request.GET.get(self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        ordering = self.filterset.ordering
        current = f"{'-' if ordering[1] else ''}{ordering[0]}" if ordering else None
        sort = sort_columns(current, {field: field for field in DealFilterSet.ordering_fields})
        filters_used = [
            name for name, value in self.request.GET.items() if value and name not in ("o", self.page_kwarg)
        ]
        context.update(
            filterset=self.filterset,
            totals=currency_totals(self.filterset.qs),
            sort=sort,
            filters_used=bool(filters_used),
        )
        return context


class DealDetailView(VisibleQuerysetMixin, DetailView):
    """deals/<pk>/: the deal's facts, its stage history with time in each stage, and its actions."""

    model = Deal
    template_name = "pipeline/deal_detail.html"
    context_object_name = "deal"

    def get_base_queryset(self):
        from assistant.selectors import latest_card_annotations

        # The stored score, and the win model's latest verdict (why a stage percentage is shown), in the one query.
        return Deal.objects.select_related(
            "company", "contact", "owner", "team", "pipeline", "stage", "loss_reason", "win_score"
        ).annotate(**latest_card_annotations())

    def get_context_data(self, **kwargs):
        from assistant.display import status_reason, win_view
        from assistant.selectors import latest_card_of, may_read_win_model

        context = super().get_context_data(**kwargs)
        deal = self.object
        can_edit = Deal.objects.editable_by(self.request.user).filter(pk=deal.pk).exists()
        win = win_view(deal)
        context.update(
            win=win,
            win_reason=status_reason(latest_card_of(deal)) if win and win.source == "stage" else "",
            show_card_link=may_read_win_model(self.request.user),
            history=deal_stage_history(deal=deal),
            can_edit=can_edit,
            move_form=MoveForm(deal=deal) if can_edit else None,
            is_won=deal.stage.kind == StageKind.WON,
            is_lost=deal.stage.kind == StageKind.LOST,
        )
        context.update(activity_panel_context(self.request, deal=deal))
        return context


class DealCreateView(LoginRequiredMixin, View):
    """deals/new/ (?stage=<id> preselects a stage): a new deal, created by deal_create."""

    template_name = "pipeline/deal_form.html"

    def get(self, request):
        initial = {}
        stage = Stage.objects.filter(pk=_int_or_none(request.GET.get("stage"))).first()
        if stage is not None:
            initial.update(stage=stage.pk, pipeline=stage.pipeline_id)
        else:
            first = Pipeline.objects.visible_to(request.user).filter(is_active=True).first()
            if first is not None:
                initial["pipeline"] = first.pk
        form = DealForm(user=request.user, initial=initial)
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = DealForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                deal = submit_once(
                    request, form, lambda: services.deal_create(by=request.user, **form.service_kwargs())
                )
            except FormAlreadySent as sent:
                return already_sent(request, sent, fallback=reverse("pipeline:deal_list"))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request, _("The deal “%(title)s” was added.") % {"title": formatting.isolate(deal.title)}
                )
                return redirect(deal)
        return render(request, self.template_name, {"form": form}, status=_form_error_status(request))


class DealActionMixin(EditableQuerysetMixin):
    """Write URLs: only deals the user may edit; any other answers 404, like a deal that does not exist."""

    model = Deal

    def get_base_queryset(self):
        return Deal.objects.select_related("pipeline", "stage", "company")

    def get_object(self) -> Deal:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class DealUpdateView(DealActionMixin, View):
    """deals/<pk>/edit/: the deal's details; a form read before someone else's change is refused (409)."""

    template_name = "pipeline/deal_form.html"

    def get(self, request, pk):
        deal = self.get_object()
        return render(request, self.template_name, {"form": DealForm(user=request.user, instance=deal), "deal": deal})

    def post(self, request, pk):
        deal = self.get_object()
        form = DealForm(request.POST, user=request.user, instance=deal)
        status = _form_error_status(request)
        if form.is_valid():
            try:
                deal = services.deal_update(
                    deal=deal, by=request.user, expected_version=form.cleaned_data["version"], **form.service_kwargs()
                )
            except StaleVersionError as error:
                form.add_error(None, error.message)
                status = 409
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("The deal was saved."))
                return redirect(deal)
        return render(request, self.template_name, {"form": form, "deal": deal, "stale": status == 409}, status=status)


class DealWonView(DealActionMixin, View):
    """POST deals/<pk>/won/ with `version`: close the deal as won."""

    http_method_names = ["post"]

    def post(self, request, pk):
        deal = self.get_object()
        form = VersionForm(request.POST)
        if not form.is_valid():
            return _refused(request, deal, first_error(form), _form_error_status(request))
        try:
            deal = services.deal_mark_won(deal=deal, by=request.user, expected_version=form.cleaned_data["version"])
        except StaleVersionError as error:
            return _refused(request, deal, str(error.message), 409)
        except ValidationError as error:
            return _refused(request, deal, " ".join(error.messages), _form_error_status(request))
        messages.success(request, _("The deal “%(title)s” is won.") % {"title": formatting.isolate(deal.title)})
        return redirect(_next_url(request, deal.get_absolute_url()))


class DealLostView(DealActionMixin, View):
    """deals/<pk>/lost/: the loss form (reason required, competitor and note optional), then close as lost.

    GET accepts `stage` (a lost stage of the pipeline, chosen on the board), `version` and `next`.
    """

    template_name = "pipeline/deal_lost.html"

    def get(self, request, pk):
        deal = self.get_object()
        initial = {"competitor": deal.competitor, "version": deal.version}
        if (version := _int_or_none(request.GET.get("version"))) is not None:
            initial["version"] = version
        if (stage := _int_or_none(request.GET.get("stage"))) is not None:
            initial["stage"] = stage
        form = LostForm(deal=deal, initial=initial)
        return self._render(request, deal, form)

    def post(self, request, pk):
        deal = self.get_object()
        form = LostForm(request.POST, deal=deal)
        status = _form_error_status(request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                deal = services.deal_mark_lost(
                    deal=deal,
                    by=request.user,
                    loss_reason=data["loss_reason"],
                    competitor=data["competitor"],
                    note=data["note"],
                    expected_version=data["version"],
                    stage=data["stage"],
                )
            except StaleVersionError as error:
                form.add_error(None, error.message)
                status = 409
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request, _("The deal “%(title)s” is lost.") % {"title": formatting.isolate(deal.title)}
                )
                return redirect(_next_url(request, deal.get_absolute_url()))
        return self._render(request, deal, form, status=status)

    def _render(self, request, deal, form, status=200):
        context = {
            "deal": deal,
            "form": form,
            "next": _next_url(request, ""),
            "back_url": _next_url(request, deal.get_absolute_url()),
        }
        return render(request, self.template_name, context, status=status)


class DealMoveView(DealActionMixin, View):
    """POST deals/<pk>/move/ with `stage` and `version` (the board's drag-and-drop and every "Move to stage" form).

    Plain form POST: a redirect (302) to `next`, or to the deal, on success.
    HTMX / board.js (HX-Request header): 200 with the updated card and, out of
    band, the two column headers and a status line; optional `board_owner`
    keeps the headers' owner filter. A lost stage needs a reason: 200 with
    HX-Redirect to the loss form (plain POST: a redirect to it). Refusals:
    400/422 (not a stage of this pipeline), 409 (stale version), nothing changed.
    """

    http_method_names = ["post"]

    def post(self, request, pk):
        deal = self.get_object()
        form = MoveForm(request.POST, deal=deal)
        if not form.is_valid():
            return _refused(request, deal, first_error(form), _form_error_status(request))
        stage, version = form.cleaned_data["stage"], form.cleaned_data["version"]
        back = _next_url(request, deal.get_absolute_url())
        if stage.kind == StageKind.LOST and stage.pk != deal.stage_id:
            query = urlencode({"stage": stage.pk, "version": version, "next": back})
            lost_url = f"{reverse('pipeline:deal_lost', args=[deal.pk])}?{query}"
            if request.htmx:
                return HttpResponseClientRedirect(lost_url)
            return redirect(lost_url)
        from_stage = deal.stage
        try:
            if stage.kind == StageKind.WON and stage.pk != deal.stage_id:
                # Winning has its own service, so whatever a win sets off happens from the board too.
                deal = services.deal_mark_won(deal=deal, by=request.user, expected_version=version, stage=stage)
            else:
                deal = services.deal_move_to_stage(deal=deal, stage=stage, by=request.user, expected_version=version)
        except StaleVersionError as error:
            return _refused(request, deal, str(error.message), 409)
        except ValidationError as error:
            return _refused(request, deal, " ".join(error.messages), _form_error_status(request))
        message = _("“%(title)s” moved to %(stage)s.") % {
            "title": formatting.isolate(deal.title),
            "stage": formatting.isolate(str(stage)),
        }
        if not request.htmx:
            messages.success(request, message)
            return redirect(back)
        owner_id = _int_or_none(request.POST.get("board_owner"))
        summaries = stage_summaries(user=request.user, stage_ids=[from_stage.pk, stage.pk], owner_id=owner_id)
        deal.next_follow_up_at = next_follow_up_at(deal=deal)
        context = {
            "deal": deal,
            "stages": board_stages(pipeline=deal.pipeline),
            "next": back,
            "heads": [(s, summaries[s.pk]) for s in dict.fromkeys((from_stage, stage))],
            "message": message,
        }
        return render(request, "pipeline/partials/move_result.html", context)


class BoardView(LoginRequiredMixin, View):
    """board/ (first active pipeline) and board/<pipeline_pk>/: one column per stage, filterable by owner.

    A fixed number of queries whatever the number of deals: the stages, one
    aggregate for all the headers, one query for all the cards (on PostgreSQL), one
    for the owners and one for the quick-add companies (the most recently updated).
    """

    template_name = "pipeline/board.html"

    def get(self, request, pipeline_pk=None):
        user = request.user
        pipelines = list(Pipeline.objects.visible_to(user).filter(is_active=True))
        if pipeline_pk is None:
            pipeline = pipelines[0] if pipelines else None
        else:
            pipeline = get_object_or_404(Pipeline.objects.visible_to(user), pk=pipeline_pk)
        if pipeline is None:
            return render(request, self.template_name, {"pipeline": None, "pipelines": []})

        owners = list(assignable_owners(user=user))
        owner_id = _int_or_none(request.GET.get("owner"))
        if owner_id not in {owner.pk for owner in owners}:
            owner_id = None
        stages = board_stages(pipeline=pipeline)
        summaries = stage_summaries(user=user, stage_ids=[stage.pk for stage in stages], owner_id=owner_id)
        # Won and lost columns are summaries (count, totals, a link to the list): only open deals are cards.
        open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN]
        cards = board_deals(user=user, pipeline=pipeline, stages=open_stages, owner_id=owner_id)
        company_choices = quick_add_companies(user=user)
        currencies = quick_currency_choices()
        columns = []
        for stage in stages:
            quick_add = None
            if stage.kind == StageKind.OPEN:
                quick_add = QuickAddForm(
                    user=user, company_choices=company_choices, currencies=currencies, prefix=f"stage-{stage.pk}"
                )
            columns.append(
                {
                    "stage": stage,
                    "summary": summaries[stage.pk],
                    "deals": cards.get(stage.pk, []),
                    "closed": stage.kind != StageKind.OPEN,
                    "quick_add": quick_add,
                }
            )
        context = {
            "pipeline": pipeline,
            "pipelines": pipelines,
            "columns": columns,
            "stages": stages,
            "owners": owners,
            "owner_id": owner_id,
            "next": request.get_full_path(),
        }
        return render(request, self.template_name, context)


class DealQuickAddView(LoginRequiredMixin, View):
    """POST deals/quick-add/<stage_pk>/: a deal typed into a board column (title, value, currency, company).

    HTMX: 201 with the new card (for the column's list) and, out of band, the
    column header and a status line; errors 422, retargeted to the form.
    Plain POST: a redirect to `next` (the board), or a page with the errors (400).
    """

    http_method_names = ["post"]

    def post(self, request, stage_pk):
        stage = get_object_or_404(
            Stage.objects.visible_to(request.user).select_related("pipeline"), pk=stage_pk, kind=StageKind.OPEN
        )
        form = QuickAddForm(request.POST, user=request.user, prefix=f"stage-{stage.pk}")
        if form.is_valid():
            data = form.cleaned_data
            board = reverse("pipeline:board_pipeline", args=[stage.pipeline_id])
            try:
                deal = submit_once(
                    request,
                    form,
                    lambda: services.deal_create(
                        by=request.user,
                        title=data["title"],
                        amount=data["amount"],
                        currency=data["currency"],
                        company=data["company"],
                        stage=stage,
                    ),
                )
            except FormAlreadySent as sent:
                return already_sent(request, sent, fallback=board)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                return self._created(request, stage, deal)
        back = _next_url(request, reverse("pipeline:board_pipeline", args=[stage.pipeline_id]))
        context = {
            "stage": stage,
            "form": form,
            "next": back,
            "owner_id": _int_or_none(request.POST.get("board_owner")),
        }
        if request.htmx:
            response = render(request, "pipeline/partials/quick_add_form.html", context, status=422)
            return reswap(retarget(response, f"#quick-add-{stage.pk}"), "outerHTML")
        return render(request, "pipeline/deal_quick_add.html", context, status=400)

    def _created(self, request, stage, deal):
        message = _("The deal “%(title)s” was added to %(stage)s.") % {
            "title": formatting.isolate(deal.title),
            "stage": formatting.isolate(str(stage)),
        }
        back = _next_url(request, reverse("pipeline:board_pipeline", args=[stage.pipeline_id]))
        if not request.htmx:
            messages.success(request, message)
            return redirect(back)
        owner_id = _int_or_none(request.POST.get("board_owner"))
        summaries = stage_summaries(user=request.user, stage_ids=[stage.pk], owner_id=owner_id)
        context = {
            "deal": deal,
            "stages": board_stages(pipeline=stage.pipeline),
            "next": back,
            "heads": [(stage, summaries[stage.pk])],
            "message": message,
            # An empty form replaces the one just sent, ready for the next deal.
            "quick_add": {
                "stage": stage,
                "form": QuickAddForm(
                    user=request.user,
                    company_choices=quick_add_companies(user=request.user),
                    prefix=f"stage-{stage.pk}",
                ),
            },
            "owner_id": owner_id,
        }
        return render(request, "pipeline/partials/move_result.html", context, status=201)
