from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.admin_sync import ReadOnlyModelAdminMixin, ServiceModelAdminMixin
from pipeline import services
from pipeline.models import Deal, LossReason, Pipeline, Stage, StageChange


class StageInline(admin.TabularInline):
    """The pipeline's stages at a glance; each is edited on its own page, through the stage services."""

    model = Stage
    extra = 0
    fields = ["name", "name_en", "order", "probability", "kind"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Pipeline)
class PipelineAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.pipeline_delete)
    list_display = ["name", "name_en", "order", "is_active"]
    inlines = [StageInline]

    def service_write(self, *, by, record, data):
        if record is None:
            return services.pipeline_create(by=by, **data)
        return services.pipeline_update(pipeline=record, by=by, **data)


@admin.register(Stage)
class StageAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.stage_delete)
    list_display = ["name", "name_en", "pipeline", "order", "probability", "kind"]
    list_filter = ["pipeline", "kind"]
    list_select_related = ["pipeline"]
    search_fields = ["name", "name_en"]

    def service_write(self, *, by, record, data):
        if record is None:
            return services.stage_create(by=by, **data)
        return services.stage_update(stage=record, by=by, **data)


@admin.register(LossReason)
class LossReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "is_active"]
    search_fields = ["name", "name_en"]


class StageChangeInline(admin.TabularInline):
    model = StageChange
    extra = 0
    can_delete = False
    fields = ["from_stage", "to_stage", "at", "by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Deal)
class DealAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.deal_delete)
    list_display = ["title", "company", "amount", "currency", "stage", "owner", "expected_close", "updated_at"]
    list_filter = ["pipeline", "stage__kind", "currency", "team"]
    list_select_related = ["company", "stage", "owner"]
    search_fields = ["title", "company__name_normalized", "competitor"]
    autocomplete_fields = ["company", "contact", "owner", "team", "stage", "loss_reason"]
    readonly_fields = ["version", "closed_at", "stage_entered_at", "created_at", "updated_at"]
    inlines = [StageChangeInline]

    def service_write(self, *, by, record, data):
        if record is None:
            return services.deal_create(by=by, **data)
        if "pipeline" in data and data.pop("pipeline").pk != record.pipeline_id:
            # Neither service moves a deal between pipelines: its stage history would mix two pipelines.
            raise ValidationError({"pipeline": _("A deal cannot move to another pipeline.")})
        stage = data.pop("stage", None)
        # Loss details travel with a move into a lost stage; otherwise they are plain edits.
        loss = (
            {name: data.pop(name) for name in ("loss_reason", "competitor", "loss_note") if name in data}
            if stage
            else {}
        )
        deal = services.deal_update(deal=record, by=by, **data) if data else record
        if stage is not None:
            deal = services.deal_move_to_stage(deal=deal, stage=stage, by=by, **loss)
        return deal


@admin.register(StageChange)
class StageChangeAdmin(ReadOnlyModelAdminMixin, admin.ModelAdmin):
    """The stage history is written by deal_move_to_stage only: reports and rollups read it."""

    list_display = ["deal", "from_stage", "to_stage", "at", "by"]
    list_select_related = ["deal", "from_stage", "to_stage", "by"]
    date_hierarchy = "at"
