from django.contrib import admin
from django.db.models import F
from django.utils import timezone

from core.admin_sync import SyncedModelAdminMixin
from pipeline import services
from pipeline.models import Deal, LossReason, Pipeline, Stage, StageChange


class StageInline(admin.TabularInline):
    model = Stage
    extra = 1
    fields = ["name", "name_en", "order", "probability", "kind"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "order", "is_active"]
    inlines = [StageInline]


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "pipeline", "order", "probability", "kind"]
    list_filter = ["pipeline", "kind"]
    list_select_related = ["pipeline"]
    search_fields = ["name", "name_en"]


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
class DealAdmin(SyncedModelAdminMixin, admin.ModelAdmin):
    delete_service = staticmethod(services.deal_delete)
    webhook_prefix = "deal"
    list_display = ["title", "company", "amount", "currency", "stage", "owner", "expected_close", "updated_at"]
    list_filter = ["pipeline", "stage__kind", "currency", "team"]
    list_select_related = ["company", "stage", "owner"]
    search_fields = ["title", "company__name_normalized", "competitor"]
    autocomplete_fields = ["company", "contact", "owner", "team", "stage", "loss_reason"]
    readonly_fields = ["version", "closed_at", "stage_entered_at", "created_at", "updated_at"]
    inlines = [StageChangeInline]

    def save_model(self, request, obj, form, change):
        # Stage moves go through the service so the history and closing dates stay right.
        now = timezone.now()
        if not change:
            obj.stage_entered_at = now
            obj.closed_at = None if obj.stage.kind == "open" else now
            obj.save()
            StageChange.objects.create(deal=obj, from_stage=None, to_stage=obj.stage, at=now, by=request.user)
            return
        target = obj.stage
        stage_changed = "stage" in form.changed_data
        if stage_changed:
            obj.stage_id = form.initial["stage"]
        obj.version = F("version") + 1
        obj.save()
        obj.refresh_from_db()
        if stage_changed:
            services.deal_move_to_stage(
                deal=obj,
                stage=target,
                by=request.user,
                loss_reason=form.cleaned_data.get("loss_reason"),
                competitor=form.cleaned_data.get("competitor", ""),
                loss_note=form.cleaned_data.get("loss_note", ""),
            )


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ["deal", "from_stage", "to_stage", "at", "by"]
    list_select_related = ["deal", "from_stage", "to_stage", "by"]
    date_hierarchy = "at"
