"""Rules shared by the services of every app."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.querysets import is_admin, membership_model


class Ownership:
    """Who may own a record in which team, as decided for one acting user `by` (see `check`).

    A rep keeps records for themselves in one of their teams; a manager may
    assign them to a member of a team they manage, in that team; an admin to anyone.

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
            memberships = (
                membership_model().objects.filter(user_id=user.pk).select_related("team").order_by("created_at", "pk")
            )
            self._teams[user.pk] = [(m.team, m.is_manager) for m in memberships]
        return self._teams[user.pk]

    def team_ids_of(self, user) -> set[int]:
        if user.pk not in self._team_ids:
            self._team_ids[user.pk] = {team.pk for team, _manager in self.teams_of(user)}
        return self._team_ids[user.pk]

    def _managed_user_ids(self) -> set[int]:
        if self._managed_users is None:
            self._managed_users = set(
                membership_model()
                .objects.filter(team_id__in=self._managed_team_ids())
                .values_list("user_id", flat=True)
            )
        return self._managed_users

    def _managed_team_ids(self) -> set[int]:
        return {team.pk for team, manager in self.teams_of(self.by) if manager}

    def check(self, *, owner, team) -> None:
        """The one rule for which team a record may belong to, and to whom, as `by` assigns it.

        Every write that sets a record's owner or team asks it: creation, an edit, a batch
        (import, bulk upsert), a merge, the admin site. The owner must be a member of the
        team; a rep puts records only in their own teams; a manager hands records to others
        only in the teams they manage; an admin may do anything. Raises a translated
        ValidationError naming the field at fault.
        """
        by = self.by
        if is_admin(by):
            return
        if team.pk not in self.team_ids_of(owner):
            raise ValidationError({"team": _("%(user)s is not a member of that team.") % {"user": owner}})
        if owner.pk != by.pk and owner.pk not in self._managed_user_ids():
            raise ValidationError({"owner": _("You can only assign records to people in the teams you manage.")})
        # A rep's own records are in a team of theirs by the first rule.
        if owner.pk != by.pk and team.pk not in self._managed_team_ids():
            raise ValidationError({"team": _("You can only put other people's records in the teams you manage.")})

    def resolve(self, *, owner=None, team=None):
        """(owner, team) for a new record; raises ValidationError (translated) for an assignment `by` may not make.

        Without a team, the record goes to the first team of the owner's that `by` may put it in.
        """
        owner = owner or self.by
        if team is None:
            teams = [team for team, _manager in self.teams_of(owner)]
            if not teams:
                raise ValidationError({"owner": _("%(user)s is not a member of any team yet.") % {"user": owner}})
            team = next((team for team in teams if self._allows(owner, team)), teams[0])
        self.check(owner=owner, team=team)
        return owner, team

    def change(self, *, record, owner=None, team=None, team_follows_owner: bool = False):
        """(owner, team) to write on a stored `record` given a new `owner` and/or `team` (None: not given).

        When either differs from the record's, the result is checked like an assignment on
        creation (`check`); an edit that moves neither is not, so a record whose owner has
        since left its team can still be corrected. A new owner keeps the record's team;
        with `team_follows_owner` (deals) one who is not in it takes the record to their
        own first team instead. Given values that move nothing come back as given.
        """
        owner_moves = owner is not None and owner.pk != record.owner_id
        team_moves = team is not None and team.pk != record.team_id
        if not owner_moves and not team_moves:
            return owner, team
        owner = owner if owner is not None else record.owner
        if team is None and team_follows_owner and record.team_id not in self.team_ids_of(owner):
            return self.resolve(owner=owner)
        return self.resolve(owner=owner, team=team if team is not None else record.team)

    def _allows(self, owner, team) -> bool:
        try:
            self.check(owner=owner, team=team)
        except ValidationError:
            return False
        return True


def resolve_owner_and_team(*, by, owner=None, team=None):
    """Decide who owns a new record and which team it belongs to, and check `by` may say so (see Ownership)."""
    return Ownership(by).resolve(owner=owner, team=team)


def lock_current(record) -> dict:
    """Lock `record`'s row until the transaction ends and reload it as stored; returns its column values.

    An edit then starts from what other writers committed, and nobody can commit a change
    to the row between this read and the write: two partial updates of different fields
    arriving together both survive. A record deleted meanwhile raises the model's
    DoesNotExist, as reading it would (the API answers 404, as for any missing record).
    """
    # Read FOR UPDATE already in this transaction (the API's get_object, core/api/viewsets.py): it is
    # the stored row, and no one can change it before the transaction ends; reading it again would
    # only cost a statement. The mark is spent here, so a second call reads again.
    if record.__dict__.pop("_locked_current", False) and transaction.get_connection().in_atomic_block:
        return column_values(record)
    # of=("self",): only this row; related rows read by the model's manager are not locked.
    stored = type(record)._base_manager.select_for_update(of=("self",)).get(pk=record.pk)
    for field in record._meta.concrete_fields:
        value = getattr(stored, field.attname)
        # A related record the caller read with this one stays when the row still points to it
        # (the model's clean() may read it: a second query for the same row otherwise).
        if field.is_relation and field.is_cached(record) and getattr(record, field.attname) != value:
            field.delete_cached_value(record)
        setattr(record, field.attname, value)
    return column_values(record)


def changed_columns(record, before: dict) -> list[str]:
    """The columns of `record` whose values differ from `before` (from `lock_current`), derived ones included."""
    derive = getattr(record, "derive", None)
    if derive is not None:
        derive()  # the columns save() derives (a normalized name) are compared as they will be written
    after = column_values(record)
    return [name for name, value in after.items() if value != before.get(name)]


def save_changed(record, before: dict) -> list[str]:
    """Save only the columns that changed since `lock_current` read them (and `updated_at`); returns them.

    Writing every column would put back whatever this copy holds for the columns the
    edit did not touch; with the row locked since the read they are current, and
    naming only the changed ones keeps it so should a caller ever skip the lock.
    """
    columns = changed_columns(record, before)
    names = {field.name for field in record._meta.concrete_fields}
    if "version" in names and "version" not in columns:
        # Its next version (see save_new_version); the row is locked since the read, so +1 is exact.
        record.version = before["version"] + 1
        columns.append("version")
    record.save(update_fields=[*columns, *(["updated_at"] if "updated_at" in names else [])])
    return columns


def save_new_version(record, *, update_fields=None) -> None:
    """Save a changed record (a core.models.VersionedModel) as its next version.

    Versions move one way only: the service that writes a record gives it its next version
    (here; save_changed; the batch writers set the column in their statements, and
    core.sync.stamp_written(bump_version=True) does for rows changed set-wise). A model's
    save() never does. The increment is part of the UPDATE (an F expression), so a copy read
    before another writer's change still counts both; the new number is read back (ETags).
    """
    names = {field.name for field in record._meta.concrete_fields}
    if update_fields is not None:
        update_fields = {*update_fields, "version", *(["updated_at"] if "updated_at" in names else [])}
    record.version = F("version") + 1
    record.save(update_fields=update_fields)
    record.refresh_from_db(fields=["version"])


def column_values(record) -> dict:
    """The record's column values by attribute name (`company_id`), the primary key left out."""
    return {
        field.attname: getattr(record, field.attname) for field in record._meta.concrete_fields if not field.primary_key
    }


class FormAlreadySent(Exception):
    """The form's one-time token was spent by an earlier submission; `url` is what that one created."""

    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


# A token older than this is purged; nobody resends a form rendered yesterday.
FORM_TOKEN_LIFETIME = timedelta(days=1)


@transaction.atomic
def form_token_spend(*, user, token: str, create, result_url):
    """Call `create()` once for this user's form token and return what it returns.

    The token row is inserted first, in the transaction of the create, so a concurrent
    second submission of the same form blocks on the unique constraint until the first
    commits, then finds the token spent: FormAlreadySent with the first one's address.
    If the create fails (a ValidationError) the row rolls back with it, so the corrected
    form can be sent again with the same token. No token (an old page): no protection.
    """
    from core.models import FormToken

    if not token:
        return create()
    try:
        with transaction.atomic():
            row = FormToken.objects.create(user=user, token=token)
    except IntegrityError:
        spent = FormToken.objects.filter(user=user, token=token).values_list("result_url", flat=True).first()
        raise FormAlreadySent(spent or "") from None
    result = create()
    row.result_url = result_url(result) or ""
    row.save(update_fields=["result_url"])
    FormToken.objects.filter(user=user, created_at__lt=timezone.now() - FORM_TOKEN_LIFETIME).delete()
    return result
