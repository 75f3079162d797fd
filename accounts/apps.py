from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Team members")

    def ready(self):
        # Registers the OpenAPI description of Bearer tokens with drf-spectacular.
        from accounts import schema  # noqa: F401
