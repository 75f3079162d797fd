from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = _("Deals")

    def ready(self):
        # Deals are synced (changes/ endpoint) and sent to webhooks in their API shape.
        from core.api import sync
        from crm import hooks
        from pipeline.api.serializers import DealSerializer
        from pipeline.models import Deal

        # The serializer's win probability reads the deal's stage and stored score: loaded per page.
        sync.register(Deal, DealSerializer, route="deals", prefetch=("stage", "win_score"))
        # Deals belong to companies and contacts: crm's writes learn of them here (crm imports no pipeline).
        hooks.register_dependent(
            Deal,
            updated_event="deal.updated",
            company_delete_refusal=_(
                "This company has deals. Delete or move its deals to another company before deleting it."
            ),
        )
