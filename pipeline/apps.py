from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = _("Deals")

    def ready(self):
        # Deals are synced (changes/ endpoint) and sent to webhooks in their API shape.
        from core.api import sync
        from pipeline.api.serializers import DealSerializer
        from pipeline.models import Deal

        sync.register(Deal, DealSerializer, route="deals")
