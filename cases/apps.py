from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Support cases")

    def ready(self):
        # Cases are synced (changes/ endpoint) and sent to webhooks in their API shape.
        from cases.api.serializers import CaseSerializer
        from cases.models import Case
        from core.api import sync
        from webhooks.events import register_event

        sync.register(Case, CaseSerializer, route="cases")
        register_event("case.created", _("Support case opened"))
        register_event("case.updated", _("Support case updated"))
        register_event("case.solved", _("Support case solved"))
        register_event("case.deleted", _("Support case deleted"))
