from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Team members")

    def ready(self):
        # Registers the OpenAPI description of Bearer tokens with drf-spectacular.
        from accounts import schema  # noqa: F401
        from accounts.models import Membership, Team
        from core.querysets import forget_scopes

        # Visibility scopes cached on user objects (core.querysets.scope_of) follow membership changes.
        post_save.connect(forget_scopes, sender=Membership, dispatch_uid="core.forget_scopes.save")
        post_delete.connect(forget_scopes, sender=Membership, dispatch_uid="core.forget_scopes.delete")
        m2m_changed.connect(forget_scopes, sender=Team.members.through, dispatch_uid="core.forget_scopes.m2m")
