"""Writes to deals: create, edit, move between stages, win and lose. Web, API and tasks call these."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.services import mark_dirty_for, mark_dirty_since
from core import sync
from core.exceptions import StaleVersionError
from core.services import Ownership, changed_columns, column_values, resolve_owner_and_team, save_new_version
from pipeline.automations import after_sale_checkins_schedule
from pipeline.models import Deal, Pipeline, Stage, StageChange, StageKind
from webhooks import events as webhook_events


def _default_pipeline() -> Pipeline:
    pipeline = Pipeline.objects.filter(is_active=True).order_by("order", "pk").first()
    if pipeline is None:
        raise ValidationError({"pipeline": _("Create a pipeline with stages before adding deals.")})
    return pipeline


def _first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("order", "pk").first()
    if stage is None:
        raise ValidationError({"stage": _("This pipeline has no open stage yet.")})
    return stage


@transaction.atomic
def deal_create(
    *,
    by,
    title: str,
    amount,
    currency: str,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    owner=None,
    team=None,
    **fields,
) -> Deal:
    """Create a deal in its pipeline's first open stage (or the stage given) and record its entry."""
    owner, team = resolve_owner_and_team(by=by, owner=owner, team=team)
    pipeline = pipeline or (stage.pipeline if stage else _default_pipeline())
    stage = stage or _first_open_stage(pipeline)
    now = timezone.now()
    deal = Deal(
        title=title,
        amount=amount,
        currency=currency,
        pipeline=pipeline,
        stage=stage,
        owner=owner,
        team=team,
        stage_entered_at=now,
        closed_at=now if stage.kind != StageKind.OPEN else None,
        **fields,
    )
    deal.full_clean()
    deal.save()
    StageChange.objects.create(deal=deal, from_stage=None, to_stage=stage, at=now, by=by)
    if stage.kind == StageKind.WON:
        _after_sale(deal=deal, by=by)
    sync.stamp(deal)
    webhook_events.emit("deal.created", deal)
    return deal


def _after_sale(*, deal: Deal, by) -> None:
    from surveys.services import after_sale_surveys_queue

    after_sale_checkins_schedule(deal=deal, by=by)
    # The pipeline's satisfaction surveys go with the check-ins: those of the day of the win
    # are queued now, later ones by the hourly sweep (surveys.tasks.surveys_send_due).
    after_sale_surveys_queue(deal=deal)


def _lock(deal: Deal, expected_version: int | None) -> Deal:
    """Re-read the deal under a row lock and refuse the write if it changed since `expected_version`."""
    # of=("self",): only the deal row is locked; the joined stage, pipeline and team rows
    # are read, so moves of different deals never queue behind each other.
    locked = Deal.objects.select_for_update(of=("self",)).select_related("stage", "pipeline", "team").get(pk=deal.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersionError(current_version=locked.version)
    return locked


def _save(deal: Deal, update_fields: list[str] | None = None) -> Deal:
    save_new_version(deal, update_fields=update_fields)
    return deal


@transaction.atomic
def deal_update(*, deal: Deal, by, expected_version: int | None = None, **fields) -> Deal:
    """Edit a deal's details. Stage changes go through `deal_move_to_stage` so history is kept."""
    if "stage" in fields or "pipeline" in fields:
        raise ValueError("use deal_move_to_stage to change a deal's stage")
    deal = _lock(deal, expected_version)
    stored = column_values(deal)
    # A new owner or team is checked by the one rule (core.services.Ownership); a new owner
    # outside the deal's team takes it to their own team.
    owner, team = Ownership(by).change(
        record=deal, owner=fields.get("owner"), team=fields.get("team"), team_follows_owner=True
    )
    if owner is not None:
        fields["owner"] = owner
    if team is not None:
        fields["team"] = team
    for name, value in fields.items():
        setattr(deal, name, value)
    deal.full_clean()
    # Only the columns this edit changes: the others stay as the locked row holds them.
    _save(deal, changed_columns(deal, stored))
    sync.stamp(deal)
    webhook_events.emit("deal.updated", deal)
    return deal


@transaction.atomic
def deal_move_to_stage(
    *,
    deal: Deal,
    stage: Stage,
    by,
    expected_version: int | None = None,
    at: datetime | None = None,
    loss_reason=None,
    competitor: str | None = None,
    loss_note: str | None = None,
) -> Deal:
    """Move a deal to another stage of its pipeline, recording the change.

    Entering a won or lost stage closes the deal; leaving one reopens it.
    `expected_version` (from the board or an If-Match header) makes the move
    refuse, changing nothing, when someone else changed the deal meanwhile.
    """
    deal = _lock(deal, expected_version)
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": _("The stage belongs to another pipeline.")})
    if stage.pk == deal.stage_id:
        return deal
    now = at or timezone.now()
    previous_closed_at = deal.closed_at
    from_stage = deal.stage
    deal.stage = stage
    deal.stage_entered_at = now
    if stage.kind == StageKind.OPEN:
        deal.closed_at = None
        deal.loss_reason = None
        deal.loss_note = ""
    else:
        deal.closed_at = now
    if stage.kind == StageKind.LOST:
        deal.loss_reason = loss_reason
        if competitor is not None:
            deal.competitor = competitor
        if loss_note is not None:
            deal.loss_note = loss_note
    deal.full_clean()
    _save(deal)
    StageChange.objects.create(deal=deal, from_stage=from_stage, to_stage=stage, at=now, by=by)
    # Reopening or re-closing changes the day it was closed on; a move dated in the past
    # changes every day since. Those days are rolled up again.
    if previous_closed_at is not None:
        mark_dirty_for(team=deal.team, when=previous_closed_at, reason="deal reopened or closed again")
    if (stage.kind == StageKind.WON) != (from_stage.kind == StageKind.WON):
        # Its creation day counts the deals created then that are won now (created_won_count).
        mark_dirty_for(team=deal.team, when=deal.created_at, reason="deal created that day changed outcome")
    if at is not None:
        mark_dirty_since(team=deal.team, when=now, reason="stage change dated in the past")
    if stage.kind == StageKind.WON and from_stage.kind != StageKind.WON:
        # Support goes on after the sale: check-ins at the pipeline's days after the win.
        _after_sale(deal=deal, by=by)
    sync.stamp(deal)
    webhook_events.emit("deal.stage_changed", deal)
    if stage.kind == StageKind.WON:
        webhook_events.emit("deal.won", deal)
    elif stage.kind == StageKind.LOST:
        webhook_events.emit("deal.lost", deal)
    return deal


def _closing_stage(deal: Deal, kind: str, stage: Stage | None = None) -> Stage:
    """The stage to close `deal` in: the one chosen (a board column), else the pipeline's first of `kind`."""
    if stage is not None:
        if stage.pipeline_id != deal.pipeline_id:
            raise ValidationError({"stage": _("The stage belongs to another pipeline.")})
        if stage.kind != kind:
            raise ValidationError({"stage": _("Choose a stage of the right kind for this outcome.")})
        return stage
    stage = Stage.objects.filter(pipeline_id=deal.pipeline_id, kind=kind).order_by("order", "pk").first()
    if stage is None:
        if kind == StageKind.WON:
            raise ValidationError(_("This pipeline has no won stage."))
        raise ValidationError(_("This pipeline has no lost stage."))
    return stage


def deal_mark_won(*, deal: Deal, by, expected_version: int | None = None, stage: Stage | None = None) -> Deal:
    """Close a deal as won, in `stage` when the pipeline has several won stages."""
    return deal_move_to_stage(
        deal=deal, stage=_closing_stage(deal, StageKind.WON, stage), by=by, expected_version=expected_version
    )


def deal_mark_lost(
    *,
    deal: Deal,
    by,
    loss_reason,
    competitor: str = "",
    note: str = "",
    expected_version: int | None = None,
    stage: Stage | None = None,
) -> Deal:
    """Close a deal as lost; a reason is required, the competitor is optional."""
    if loss_reason is None:
        raise ValidationError({"loss_reason": _("Choose why the deal was lost.")})
    return deal_move_to_stage(
        deal=deal,
        stage=_closing_stage(deal, StageKind.LOST, stage),
        by=by,
        expected_version=expected_version,
        loss_reason=loss_reason,
        competitor=competitor,
        loss_note=note,
    )


@transaction.atomic
def deal_delete(*, deal: Deal, by, expected_version: int | None = None) -> None:
    """Delete a deal with its history (the only delete path: sync records its tombstone here)."""
    deal = _lock(deal, expected_version)
    mark_dirty_for(team=deal.team, when=deal.closed_at or deal.created_at, reason="deal deleted")
    pk = deal.pk
    deal.delete()
    deal.pk = pk
    webhook_events.emit_deleted("deal.deleted", sync.tombstone_write(deal))


@transaction.atomic
def pipeline_create(*, by, name: str, **fields) -> Pipeline:
    """Add a pipeline (administrators; the API and the admin site check the role)."""
    pipeline = Pipeline(name=name, **fields)
    pipeline.full_clean()
    pipeline.save()
    return pipeline


@transaction.atomic
def pipeline_update(*, pipeline: Pipeline, by, **fields) -> Pipeline:
    for name, value in fields.items():
        setattr(pipeline, name, value)
    pipeline.full_clean()
    save_new_version(pipeline)
    return pipeline


@transaction.atomic
def stage_create(*, by, pipeline: Pipeline, name: str, **fields) -> Stage:
    """Add a stage to a pipeline (administrators, in the Django admin)."""
    stage = Stage(pipeline=pipeline, name=name, **fields)
    stage.full_clean()
    stage.save()
    return stage


@transaction.atomic
def stage_update(*, stage: Stage, by, **fields) -> Stage:
    """Rename, reorder or re-weigh a stage; its kind changes only while no deal is in it.

    A deal's closing time, its stage history and the figures rolled up from them follow from
    the kind of the stage it is in: an open stage turned won would hold "won" deals that were
    never closed. Its pipeline does not change (its deals and history would follow it).
    """
    stored = Stage.objects.select_for_update().get(pk=stage.pk)
    if "pipeline" in fields and fields["pipeline"].pk != stored.pipeline_id:
        raise ValidationError({"pipeline": _("A stage stays in its pipeline; add a new stage to the other one.")})
    if "kind" in fields and fields["kind"] != stored.kind and stored.deals.exists():
        raise ValidationError({"kind": _("Move this stage's deals to another stage before changing its kind.")})
    for name, value in fields.items():
        setattr(stage, name, value)
    stage.full_clean()
    stage.save()
    return stage


@transaction.atomic
def stage_delete(*, stage: Stage, by) -> None:
    """Delete a stage; refused while deals are in it or its history mentions it."""
    if stage.deals.exists() or StageChange.objects.filter(Q(from_stage=stage) | Q(to_stage=stage)).exists():
        raise ValidationError(_("Deals are in this stage or passed through it. Move them, or keep the stage."))
    stage.delete()


@transaction.atomic
def pipeline_delete(*, pipeline: Pipeline, by) -> None:
    """Delete a pipeline and its stages; refused while deals are in it."""
    if pipeline.deals.exists():
        raise ValidationError(_("This pipeline has deals. Move or delete them, or mark the pipeline inactive."))
    pipeline.delete()
