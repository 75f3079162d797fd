"""Rules shared by the services of every app."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.querysets import is_admin


class Ownership:
    """Who may own a new record in which team, as decided for one acting user `by`.

    A rep creates records for themselves in one of their teams; a manager may
    assign them to a member of a team they manage; an admin to anyone.

    The memberships it needs are read once per person and kept, so a batch of
    thousands of records (an import, a bulk upsert) asks a few queries in all.
    Make a new one per request or batch: memberships changed meanwhile are not seen.
    """

    def __init__(self, by):
        self.by = by
        self._teams: dict[int, list] = {}  # user id -> [(team, is_manager)] in joining order
        self._team_ids: dict[int, set] = {}
        self._managed_users: set[int] | None = None

    def teams_of(self, user) -> list:
        if user.pk not in self._teams:
            from accounts.models import Membership

            memberships = Membership.objects.filter(user_id=user.pk).select_related("team").order_by("created_at", "pk")
            self._teams[user.pk] = [(m.team, m.is_manager) for m in memberships]
        return self._teams[user.pk]

    def team_ids_of(self, user) -> set[int]:
        if user.pk not in self._team_ids:
            self._team_ids[user.pk] = {team.pk for team, _manager in self.teams_of(user)}
        return self._team_ids[user.pk]

    def _managed_user_ids(self) -> set[int]:
        if self._managed_users is None:
            from accounts.models import Membership

            managed_teams = [team.pk for team, manager in self.teams_of(self.by) if manager]
            self._managed_users = set(
                Membership.objects.filter(team_id__in=managed_teams).values_list("user_id", flat=True)
            )
        return self._managed_users

    def resolve(self, *, owner=None, team=None):
        """(owner, team) for a new record; raises ValidationError (translated) for an assignment `by` may not make."""
        by = self.by
        owner = owner or by
        teams = self.teams_of(owner)
        if team is None:
            if not teams:
                raise ValidationError({"owner": _("%(user)s is not a member of any team yet.") % {"user": owner}})
            team = teams[0][0]
        if team.pk not in self.team_ids_of(owner) and not is_admin(by):
            raise ValidationError({"team": _("%(user)s is not a member of that team.") % {"user": owner}})
        if owner.pk != by.pk and not is_admin(by) and owner.pk not in self._managed_user_ids():
            raise ValidationError({"owner": _("You can only assign records to people in the teams you manage.")})
        return owner, team


def resolve_owner_and_team(*, by, owner=None, team=None):
    """Decide who owns a new record and which team it belongs to, and check `by` may say so (see Ownership)."""
    return Ownership(by).resolve(owner=owner, team=team)
