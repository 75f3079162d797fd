from django.contrib import admin

from core.admin_sync import ReadOnlyModelAdminMixin, ServiceModelAdminMixin
from surveys import services
from surveys.models import Survey, SurveyResponse, SurveyTemplate


@admin.register(SurveyTemplate)
class SurveyTemplateAdmin(ServiceModelAdminMixin, admin.ModelAdmin):
    """The questions admins keep, in both languages, and which pipelines send them after a won deal."""

    delete_service = staticmethod(
        lambda *, surveytemplate, by: services.survey_template_delete(template=surveytemplate, by=by)
    )
    list_display = ["name", "kind", "send_after_days", "is_active", "updated_at"]
    list_filter = ["kind", "is_active", "pipelines"]
    search_fields = ["name", "question_ar", "question_en"]
    filter_horizontal = ["pipelines"]
    readonly_fields = ["version", "created_at", "updated_at"]

    def service_write(self, *, by, record, data):
        if record is None:
            return services.survey_template_create(by=by, **data)
        return services.survey_template_update(template=record, by=by, **data)


@admin.register(Survey)
class SurveyAdmin(ReadOnlyModelAdminMixin, admin.ModelAdmin):
    """Surveys are sent by survey_send (pages, API, after a win) and answered by the customer only."""

    list_display = ["template", "contact", "deal", "owner", "channel", "status", "sent_at", "responded_at"]
    list_filter = ["status", "kind", "channel", "team"]
    list_select_related = ["template", "contact", "deal", "owner"]
    date_hierarchy = "sent_at"
    exclude = ["nonce"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ReadOnlyModelAdminMixin, admin.ModelAdmin):
    list_display = ["survey", "kind", "score", "owner", "responded_at"]
    list_filter = ["kind", "score", "team"]
    list_select_related = ["survey__template", "survey__contact", "owner"]
    date_hierarchy = "responded_at"
