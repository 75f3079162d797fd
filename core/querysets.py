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

The rules compare the record's team and owner with literal ids (`scope_of`): the
user's teams, the teams they manage and the people in those, read in one small
query the first time a user object meets a rule and kept on it. With literal ids
PostgreSQL sees `owner_id IN (7) OR team_id IN (2)` and can combine the indexes
on both columns; the same rule written with subqueries is a filter evaluated on
every row, which at a million rows means scanning the table for a rep who sees 2%.
"""

from dataclasses import dataclass

from django.db import models
from django.db.models import Exists, Q


def membership_model():
    """The team membership model (settings.MEMBERSHIP_MODEL: user, team, is_manager), looked up when first needed."""
    from django.apps import apps
    from django.conf import settings

    return apps.get_model(settings.MEMBERSHIP_MODEL)


def _memberships():
    return membership_model().objects


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


@dataclass(frozen=True)
class Scope:
    """What the visibility rules need to know about one user, as sorted tuples of ids."""

    team_ids: tuple[int, ...]
    managed_team_ids: tuple[int, ...]
    managed_user_ids: tuple[int, ...]


# Bumped by every membership change in this process (see `forget_scopes`): a scope read
# before the change is read again, so a user object never keeps rules a change made stale.
_generation = 0


def forget_scopes(**kwargs) -> None:
    """Signal receiver for membership saves and deletions: every cached scope is out of date."""
    global _generation
    _generation += 1


def scope_of(user) -> Scope:
    """The user's teams, managed teams and managed people: one query per user object, then cached on it."""
    cached = getattr(user, "_visibility_scope", None)
    if cached is not None and cached[0] == _generation:
        return cached[1]
    generation = _generation
    rows = list(
        _memberships()
        .filter(Q(user_id=user.pk) | Q(team_id__in=managed_team_ids(user)))
        .order_by()  # Membership's default ordering would join users and teams for nothing
        .values_list("user_id", "team_id", "is_manager")
    )
    return _keep_scope(user, generation, rows)


def scope_rows_expression(user_field: str):
    """PostgreSQL only: the rows scope_of reads, as one array column of a query about users.

    `user_field` names the user's id in the outer query (`"user_id"` in a query of API tokens).
    The authentication reads a token and its user in one query; with this column the user's
    scope comes with them (`prime_scope`), instead of a second query at the first visibility rule.
    """
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import OuterRef
    from django.db.models.functions import JSONObject

    managed = _memberships().filter(user_id=OuterRef(OuterRef(user_field)), is_manager=True).values("team_id")
    rows = (
        _memberships()
        .filter(Q(user_id=OuterRef(user_field)) | Q(team_id__in=managed))
        .order_by()
        .values(row=JSONObject(u="user_id", t="team_id", m="is_manager"))
    )
    return ArraySubquery(rows)


def prime_scope(user, rows) -> None:
    """Keep on `user` the scope read with it (`scope_rows_expression`), as scope_of would have read it."""
    _keep_scope(user, _generation, [(row["u"], row["t"], row["m"]) for row in rows])


def _keep_scope(user, generation: int, rows) -> Scope:
    own = [(team_id, is_manager) for user_id, team_id, is_manager in rows if user_id == user.pk]
    managed = {team_id for team_id, is_manager in own if is_manager}
    scope = Scope(
        team_ids=tuple(sorted({team_id for team_id, _manager in own})),
        managed_team_ids=tuple(sorted(managed)),
        managed_user_ids=tuple(sorted({user_id for user_id, team_id, _manager in rows if team_id in managed})),
    )
    user._visibility_scope = (generation, scope)
    return scope


def figure_team_ids(user) -> tuple[int, ...] | None:
    """Teams whose figures (dashboard, leaderboard, drill-downs) `user` may read; None means every team.

    Admins read every team, managers the teams they manage, anyone else their own teams
    (and, there, only their own figures: `sees_only_self`).
    """
    if is_admin(user):
        return None
    scope = scope_of(user)
    return scope.managed_team_ids or scope.team_ids


def sees_only_self(user) -> bool:
    """A member who manages no team (a rep) only ever sees their own figures."""
    return not is_admin(user) and not scope_of(user).managed_team_ids


def managed_people_q(user, field: str = "pk") -> Q:
    """The people `user` may set targets for: anyone for admins, else the people they manage other than themself."""
    if is_admin(user):
        return Q()
    return _any_of(field, set(scope_of(user).managed_user_ids) - {user.pk})


def _any_of(field: str, ids) -> Q:
    """`field IN (ids)`, sorted, so one scope always gives the same SQL."""
    return Q(**{f"{field}__in": sorted(set(ids))})


def visible_exists(model, user, **correlation) -> Exists:
    """Exists(a record of `model` that `user` may see and that matches `correlation`), e.g. owner=OuterRef("pk").

    Written as one EXISTS per arm of the rule (team_id IN … | owner_id IN …): inside a
    single EXISTS PostgreSQL scans every record matching the correlation and filters
    it by the rule, which for a colleague of another team is all their records. Per
    arm, the rule's ids sit in the index condition next to the correlation.
    """
    records = model.objects.all()
    visible = records.visible_to(user)
    if visible.query.is_empty() or is_admin(user):
        return Exists(visible.filter(**correlation))
    rule = records.visible_q(user)
    arms = rule.children if rule.connector == Q.OR and not rule.negated else [rule]
    condition = None
    for arm in arms:
        exists = Exists(records.filter(arm if isinstance(arm, Q) else Q(arm)).filter(**correlation))
        condition = exists if condition is None else condition | exists
    return condition


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

    def _owned_or_managed_q(self, user, *, teams=()) -> Q:
        """Owned by the user or by someone they manage, or filed under one of `teams` or a team they manage."""
        scope = scope_of(user)
        condition = _any_of(f"{self.owner_field}_id", (user.pk, *scope.managed_user_ids))
        team_ids_ = {*teams, *scope.managed_team_ids}
        if team_ids_:
            condition |= _any_of(f"{self.team_field}_id", team_ids_)
        return condition

    def visible_q(self, user) -> Q:
        return self._owned_or_managed_q(user)

    def editable_q(self, user) -> Q:
        # Spelled out rather than visible_q(): subclasses widen visibility, never edit rights.
        return self._owned_or_managed_q(user)


class TeamSharedQuerySet(OwnedQuerySet):
    """Customers (companies, contacts): the whole team sees them, the owner and managers edit."""

    def visible_q(self, user) -> Q:
        return self._owned_or_managed_q(user, teams=scope_of(user).team_ids)
