"""Rules shared by the services of every app."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.querysets import is_admin, managed_team_ids


def resolve_owner_and_team(*, by, owner=None, team=None):
    """Decide who owns a new record and which team it belongs to, and check `by` may say so.

    A rep creates records for themselves in one of their teams; a manager may
    assign them to a member of a team they manage; an admin to anyone.
    Raises ValidationError (translated) for an assignment `by` may not make.
    """
    from accounts.models import Membership

    owner = owner or by
    owner_team_ids = set(Membership.objects.filter(user=owner).values_list("team_id", flat=True))
    if team is None:
        first = Membership.objects.filter(user=owner).order_by("created_at", "pk").select_related("team").first()
        if first is None:
            raise ValidationError({"owner": _("%(user)s is not a member of any team yet.") % {"user": owner}})
        team = first.team
    if team.pk not in owner_team_ids and not is_admin(by):
        raise ValidationError({"team": _("%(user)s is not a member of that team.") % {"user": owner}})
    if owner.pk != by.pk and not is_admin(by):
        managed = set(Membership.objects.filter(team_id__in=managed_team_ids(by)).values_list("user_id", flat=True))
        if owner.pk not in managed:
            raise ValidationError({"owner": _("You can only assign records to people in the teams you manage.")})
    return owner, team
