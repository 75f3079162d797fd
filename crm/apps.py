from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Customers")

    def ready(self):
        # Companies and contacts are synced (changes/ endpoints) and sent to webhooks in their API shape.
        from core.api import sync
        from crm.api.serializers import CompanySerializer, ContactSerializer
        from crm.models import Company, Contact

        sync.register(Company, CompanySerializer, route="companies")
        sync.register(Contact, ContactSerializer, route="contacts")
