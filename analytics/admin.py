from django.contrib import admin

from analytics.models import (
    DailyActivityFigure,
    DailyDealFigure,
    DailyFollowUpFigure,
    DailyLossFigure,
    DailyStageDuration,
    DailyStageFigure,
    ExchangeRate,
    RollupDay,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rollups are computed, never typed: `manage.py rollup_kpis` recomputes them."""

    date_hierarchy = "day"
    list_filter = ["team"]
    list_select_related = ["team", "rep"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DailyDealFigure)
class DailyDealFigureAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        "team",
        "rep",
        "pipeline",
        "currency",
        "deals_created",
        "created_won_count",
        "won_count",
        "won_value",
        "lost_count",
        "lost_value",
        "avg_days_to_close",
        "open_value",
        "weighted_open_value",
    ]
    list_filter = ["team", "pipeline", "currency"]
    list_select_related = ["team", "rep", "pipeline"]


@admin.register(DailyStageFigure)
class DailyStageFigureAdmin(ReadOnlyAdmin):
    list_display = ["day", "team", "rep", "pipeline", "stage", "entries", "exits"]
    list_filter = ["team", "pipeline"]
    list_select_related = ["team", "rep", "pipeline", "stage"]


@admin.register(DailyStageDuration)
class DailyStageDurationAdmin(ReadOnlyAdmin):
    list_display = ["day", "team", "rep", "pipeline", "stage", "bucket", "count"]
    list_filter = ["team", "pipeline"]
    list_select_related = ["team", "rep", "pipeline", "stage"]


@admin.register(DailyLossFigure)
class DailyLossFigureAdmin(ReadOnlyAdmin):
    list_display = ["day", "team", "rep", "pipeline", "currency", "loss_reason", "competitor", "count", "value"]
    list_filter = ["team", "pipeline", "currency"]
    list_select_related = ["team", "rep", "pipeline", "loss_reason"]


@admin.register(DailyActivityFigure)
class DailyActivityFigureAdmin(ReadOnlyAdmin):
    list_display = ["day", "team", "rep", "kind", "count"]
    list_filter = ["team", "kind"]


@admin.register(DailyFollowUpFigure)
class DailyFollowUpFigureAdmin(ReadOnlyAdmin):
    list_display = ["day", "team", "rep", "done", "overdue"]


@admin.register(RollupDay)
class RollupDayAdmin(ReadOnlyAdmin):
    list_display = ["day", "team", "is_dirty", "reason", "marked_dirty_at", "computed_at"]
    list_filter = ["team", "is_dirty"]
    list_select_related = ["team"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Typed by administrators: the dashboards convert totals with the latest rate on or before a period's end."""

    date_hierarchy = "day"
    list_display = ["day", "from_currency", "to_currency", "rate"]
    list_filter = ["from_currency", "to_currency"]
    ordering = ["-day", "from_currency", "to_currency"]
