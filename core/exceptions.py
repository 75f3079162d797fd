"""Exceptions the services raise, shared by the web views and the API."""

from django.utils.translation import gettext_lazy as _


class StaleVersionError(Exception):
    """The record changed since the caller read it; the write was refused and nothing changed."""

    default_message = _("Someone else changed this record while you were working on it. Reload it and try again.")

    def __init__(self, message=None, *, current_version: int | None = None):
        self.message = message or self.default_message
        self.current_version = current_version
        super().__init__(str(self.message))
