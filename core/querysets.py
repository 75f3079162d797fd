"""Visibility: the one place that decides which records a user may see and edit.

Every model's manager is built from a `VisibleQuerySet` subclass. Views and API
viewsets call `Model.objects.visible_to(user)` / `editable_by(user)` and never
filter by hand. The rules:

- admin: everything;
- manager: everything of the teams they manage (Membership.is_manager), plus
  what a rep of their own teams would see;
- rep: the companies and contacts of their teams; their own deals, activities
  and follow-ups.

Only the owner, the owner's managers and admins may edit.
All rules are expressed as subqueries, so applying them costs no extra query.
"""

from django.db import models
from django.db.models import Q


def _memberships():
    from accounts.models import Membership

    return Membership.objects


def team_ids(user):
    """Subquery: ids of the teams `user` belongs to."""
    return _memberships().filter(user=user).values("team_id")


def managed_team_ids(user):
    """Subquery: ids of the teams `user` manages."""
    return _memberships().filter(user=user, is_manager=True).values("team_id")


def managed_user_ids(user):
    """Subquery: ids of the members of the teams `user` manages (the people they manage)."""
    return _memberships().filter(team_id__in=managed_team_ids(user)).values("user_id")


def is_admin(user) -> bool:
    return bool(user.is_superuser or getattr(user, "role", None) == "admin")


class VisibleQuerySet(models.QuerySet):
    """Base queryset with `visible_to(user)` and `editable_by(user)`.

    Subclasses implement `visible_q(user)` and `editable_q(user)`; the base
    handles anonymous, inactive and admin users the same way for every model.
    """

    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if is_admin(user):
            return self.all()
        return self.filter(self.visible_q(user))

    def editable_by(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if is_admin(user):
            return self.all()
        return self.filter(self.editable_q(user))

    def visible_q(self, user) -> Q:
        raise NotImplementedError(f"{type(self).__name__} must define visible_q()")

    def editable_q(self, user) -> Q:
        raise NotImplementedError(f"{type(self).__name__} must define editable_q()")


class ReferenceQuerySet(VisibleQuerySet):
    """Shared reference data (pipelines, stages, tags, teams): everyone reads, admins edit."""

    def visible_q(self, user) -> Q:
        return Q()

    def editable_q(self, user) -> Q:
        return Q(pk__in=[])


class OwnedQuerySet(VisibleQuerySet):
    """Records that belong to one person (deals, activities, follow-ups).

    Visible to and editable by the owner and the managers of the record's team
    or of the owner's teams.
    """

    owner_field = "owner"
    team_field = "team"

    def _managed_q(self, user) -> Q:
        return Q(**{f"{self.team_field}_id__in": managed_team_ids(user)}) | Q(
            **{f"{self.owner_field}_id__in": managed_user_ids(user)}
        )

    def visible_q(self, user) -> Q:
        return Q(**{f"{self.owner_field}_id": user.pk}) | self._managed_q(user)

    def editable_q(self, user) -> Q:
        # Spelled out rather than visible_q(): subclasses widen visibility, never edit rights.
        return Q(**{f"{self.owner_field}_id": user.pk}) | self._managed_q(user)


class TeamSharedQuerySet(OwnedQuerySet):
    """Customers (companies, contacts): the whole team sees them, the owner and managers edit."""

    def visible_q(self, user) -> Q:
        return Q(**{f"{self.team_field}_id__in": team_ids(user)}) | super().visible_q(user)
