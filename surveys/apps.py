from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Customer satisfaction surveys")

    def ready(self):
        # Surveys and answers are synced (changes/ endpoints); an answer is sent to webhooks in its API shape.
        from core.api import sync
        from surveys.api.serializers import SurveyResponseSerializer, SurveySerializer
        from surveys.models import Survey, SurveyResponse
        from webhooks import events as webhook_events

        sync.register(Survey, SurveySerializer, route="surveys")
        sync.register(SurveyResponse, SurveyResponseSerializer, route="survey-responses")
        webhook_events.register_event("survey.responded", _("Survey answered"))
        # Deleting a contact deletes its surveys and answers (cascade): syncing clients learn of it
        # through tombstones, written in the deleting transaction once the rows are gone.
        from django.db.models.signals import post_delete

        from surveys.services import tombstone_deleted

        post_delete.connect(tombstone_deleted, sender=Survey, dispatch_uid="surveys-tombstone-survey")
        post_delete.connect(tombstone_deleted, sender=SurveyResponse, dispatch_uid="surveys-tombstone-response")
