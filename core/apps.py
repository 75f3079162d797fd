from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self):
        from django.db.backends.signals import connection_created

        import core.lookups  # noqa: F401  (registers the __any lookup)
        from core.sqlite import add_functions

        connection_created.connect(add_functions, dispatch_uid="core.sqlite.add_functions")
