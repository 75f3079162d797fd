from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    """One search across contacts, companies and deals (the header's search box and its results page)."""

    name = "search"
    verbose_name = _("Search everything")
