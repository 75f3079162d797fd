from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkspaceConfig(AppConfig):
    """My day and the demo data: the pages and commands that draw on every domain app, so the kernel needs none."""

    name = "workspace"
    verbose_name = _("Workspace")
