"""Deal pages and the pipeline board.

Function views: they parse and check; every write goes through pipeline/services.py and
every read through `visible_to(user)` / `editable_by(user)` or the selectors. Answers:

- a form with errors: 400 for a plain form POST, 422 for an HTMX request (the
  status base.html's htmx-config swaps, so the errors show in place);
- a write that names an old version: 409, nothing changed;
- a deal the user may not see, or may see but not edit on a write URL: 404.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from accounts.selectors import assignable_owners
from core import formatting
from core.exceptions import StaleVersionError
from core.forms import add_service_errors, already_sent, form_error_status, submit_once
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


@login_required
@require_safe
def deal_list(request):
    """deals/: every deal the user may see, filtered, sorted, 25 a page, with totals per currency."""
    filterset = DealFilterSet(request.GET, queryset=Deal.objects.visible_to(request.user), request=request)
    rows = filterset.qs.select_related("company", "owner", "stage", "pipeline")
    # get_page() answers the last page for a number past the end instead of a 404.
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    ordering = filterset.ordering
    current = f"{'-' if ordering[1] else ''}{ordering[0]}" if ordering else None
    sort = sort_columns(current, {field: field for field in DealFilterSet.ordering_fields})
    filters_used = [name for name, value in request.GET.items() if value and name not in ("o", "page")]
    context = {
        "paginator": page.paginator,
        "page_obj": page,
        "is_paginated": page.has_other_pages(),
        "object_list": page.object_list,
        "deals": page.object_list,
        "filterset": filterset,
        "totals": currency_totals(filterset.qs),
        "sort": sort,
        "filters_used": bool(filters_used),
    }
    return render(request, "pipeline/deal_list.html", context)


@login_required
@require_safe
def deal_detail(request, pk: int):
    """deals/<pk>/: the deal's facts, its stage history with time in each stage, and its actions."""
    from assistant.display import status_reason, win_view
    from assistant.selectors import latest_card_annotations, latest_card_of, may_read_win_model

    # The stored score, and the win model's latest verdict (why a stage percentage is shown), in the one query.
    deals = Deal.objects.select_related(
        "company", "contact", "owner", "team", "pipeline", "stage", "loss_reason", "win_score"
    ).annotate(**latest_card_annotations())
    deal = get_object_or_404(deals.visible_to(request.user), pk=pk)
    can_edit = Deal.objects.editable_by(request.user).filter(pk=deal.pk).exists()
    win = win_view(deal)
    context = {
        "object": deal,
        "deal": deal,
        "win": win,
        "win_reason": status_reason(latest_card_of(deal)) if win and win.source == "stage" else "",
        "show_card_link": may_read_win_model(request.user),
        "history": deal_stage_history(deal=deal),
        "can_edit": can_edit,
        "move_form": MoveForm(deal=deal) if can_edit else None,
        "is_won": deal.stage.kind == StageKind.WON,
        "is_lost": deal.stage.kind == StageKind.LOST,
    }
    context.update(activity_panel_context(request, deal=deal))
    return render(request, "pipeline/deal_detail.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def deal_create(request):
    """deals/new/ (?stage=<id> preselects a stage): a new deal, created by deal_create."""
    if request.method != "POST":
        initial = {}
        stage = Stage.objects.filter(pk=_int_or_none(request.GET.get("stage"))).first()
        if stage is not None:
            initial.update(stage=stage.pk, pipeline=stage.pipeline_id)
        else:
            first = Pipeline.objects.visible_to(request.user).filter(is_active=True).first()
            if first is not None:
                initial["pipeline"] = first.pk
        form = DealForm(user=request.user, initial=initial)
        return render(request, "pipeline/deal_form.html", {"form": form})
    form = DealForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            deal = submit_once(request, form, lambda: services.deal_create(by=request.user, **form.service_kwargs()))
        except FormAlreadySent as sent:
            return already_sent(request, sent, fallback=reverse("pipeline:deal_list"))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The deal “%(title)s” was added.") % {"title": formatting.isolate(deal.title)})
            return redirect(deal)
    return render(request, "pipeline/deal_form.html", {"form": form}, status=form_error_status(request))


def _editable_deal(request, pk: int) -> Deal:
    """Write URLs: only deals the user may edit; any other answers 404, like a deal that does not exist."""
    return get_object_or_404(
        Deal.objects.select_related("pipeline", "stage", "company").editable_by(request.user), pk=pk
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def deal_update(request, pk: int):
    """deals/<pk>/edit/: the deal's details; a form read before someone else's change is refused (409)."""
    deal = _editable_deal(request, pk)
    if request.method != "POST":
        return render(
            request, "pipeline/deal_form.html", {"form": DealForm(user=request.user, instance=deal), "deal": deal}
        )
    form = DealForm(request.POST, user=request.user, instance=deal)
    status = form_error_status(request)
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
    return render(
        request, "pipeline/deal_form.html", {"form": form, "deal": deal, "stale": status == 409}, status=status
    )


@login_required
@require_POST
def deal_won(request, pk: int):
    """POST deals/<pk>/won/ with `version`: close the deal as won."""
    deal = _editable_deal(request, pk)
    form = VersionForm(request.POST)
    if not form.is_valid():
        return _refused(request, deal, first_error(form), form_error_status(request))
    try:
        deal = services.deal_mark_won(deal=deal, by=request.user, expected_version=form.cleaned_data["version"])
    except StaleVersionError as error:
        return _refused(request, deal, str(error.message), 409)
    except ValidationError as error:
        return _refused(request, deal, " ".join(error.messages), form_error_status(request))
    messages.success(request, _("The deal “%(title)s” is won.") % {"title": formatting.isolate(deal.title)})
    return redirect(_next_url(request, deal.get_absolute_url()))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def deal_lost(request, pk: int):
    """deals/<pk>/lost/: the loss form (reason required, competitor and note optional), then close as lost.

    GET accepts `stage` (a lost stage of the pipeline, chosen on the board), `version` and `next`.
    """
    deal = _editable_deal(request, pk)
    status = 200
    if request.method != "POST":
        initial = {"competitor": deal.competitor, "version": deal.version}
        if (version := _int_or_none(request.GET.get("version"))) is not None:
            initial["version"] = version
        if (stage := _int_or_none(request.GET.get("stage"))) is not None:
            initial["stage"] = stage
        form = LostForm(deal=deal, initial=initial)
    else:
        form = LostForm(request.POST, deal=deal)
        status = form_error_status(request)
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
    context = {
        "deal": deal,
        "form": form,
        "next": _next_url(request, ""),
        "back_url": _next_url(request, deal.get_absolute_url()),
    }
    return render(request, "pipeline/deal_lost.html", context, status=status)


@login_required
@require_POST
def deal_move(request, pk: int):
    """POST deals/<pk>/move/ with `stage` and `version` (the board's drag-and-drop and every "Move to stage" form).

    Plain form POST: a redirect (302) to `next`, or to the deal, on success.
    HTMX / board.js (HX-Request header): 200 with the updated card and, out of
    band, the two column headers and a status line; optional `board_owner`
    keeps the headers' owner filter. A lost stage needs a reason: 200 with
    HX-Redirect to the loss form (plain POST: a redirect to it). Refusals:
    400/422 (not a stage of this pipeline), 409 (stale version), nothing changed.
    """
    deal = _editable_deal(request, pk)
    form = MoveForm(request.POST, deal=deal)
    if not form.is_valid():
        return _refused(request, deal, first_error(form), form_error_status(request))
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
        return _refused(request, deal, " ".join(error.messages), form_error_status(request))
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
    # The stored score, as the board's query reads it (the worker rescores the deal overnight).
    deal.win_probability = type(deal).objects.filter(pk=deal.pk).values_list("win_score__probability", flat=True)[0]
    context = {
        "deal": deal,
        "stages": board_stages(pipeline=deal.pipeline),
        "next": back,
        "heads": [(s, summaries[s.pk]) for s in dict.fromkeys((from_stage, stage))],
        "message": message,
    }
    return render(request, "pipeline/partials/move_result.html", context)


@login_required
@require_safe
def board(request, pipeline_pk=None):
    """board/ (first active pipeline) and board/<pipeline_pk>/: one column per stage, filterable by owner.

    A fixed number of queries whatever the number of deals: the stages, one
    aggregate for all the headers, one query for all the cards (on PostgreSQL), one
    for the owners and one for the quick-add companies (the most recently updated).
    """
    user = request.user
    pipelines = list(Pipeline.objects.visible_to(user).filter(is_active=True))
    if pipeline_pk is None:
        pipeline = pipelines[0] if pipelines else None
    else:
        pipeline = get_object_or_404(Pipeline.objects.visible_to(user), pk=pipeline_pk)
    if pipeline is None:
        return render(request, "pipeline/board.html", {"pipeline": None, "pipelines": []})

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
    return render(request, "pipeline/board.html", context)


@login_required
@require_POST
def deal_quick_add(request, stage_pk: int):
    """POST deals/quick-add/<stage_pk>/: a deal typed into a board column (title, value, currency, company).

    HTMX: 201 with the new card (for the column's list) and, out of band, the
    column header and a status line; errors 422, retargeted to the form.
    Plain POST: a redirect to `next` (the board), or a page with the errors (400).
    """
    stage = get_object_or_404(
        Stage.objects.visible_to(request.user).select_related("pipeline"), pk=stage_pk, kind=StageKind.OPEN
    )
    form = QuickAddForm(request.POST, user=request.user, prefix=f"stage-{stage.pk}")
    if form.is_valid():
        data = form.cleaned_data
        board_url = reverse("pipeline:board_pipeline", args=[stage.pipeline_id])
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
            return already_sent(request, sent, fallback=board_url)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _quick_add_created(request, stage, deal)
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


def _quick_add_created(request, stage, deal):
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
