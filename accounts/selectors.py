"""Who a member may hand work to: the choice lists of every owner and assignee field, in one place."""

from django.db.models import Q

from accounts.models import Membership, User
from core.querysets import is_admin, managed_user_ids, team_ids


def assignable_owners(*, user, keep=None):
    """People `user` may make the owner of a customer or a deal (core.services.resolve_owner_and_team's rule).

    A rep: themselves; a manager: themselves and the members of the teams they
    manage; an admin: anyone in a team. `keep` (a user id) stays in the list so an
    edit form can show a record's current owner even after they changed teams.
    """
    if is_admin(user):
        allowed = Q(pk__in=Membership.objects.values("user_id"))
    else:
        allowed = Q(pk=user.pk) | Q(pk__in=managed_user_ids(user))
    allowed &= Q(is_active=True)
    if keep is not None:
        allowed |= Q(pk=keep)
    return User.objects.filter(allowed).order_by("first_name", "last_name", "username")


def follow_up_assignees(*, user):
    """People `user` may hand a follow-up to: themselves, teammates, the teams they manage; admins anyone."""
    users = User.objects.filter(is_active=True)
    if is_admin(user):
        return users
    return users.filter(
        Q(pk=user.pk)
        | Q(pk__in=Membership.objects.filter(team_id__in=team_ids(user)).values("user_id"))
        | Q(pk__in=managed_user_ids(user))
    )
