"""Visibility and edit rights, role by role, for every model (core.querysets)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from crm.models import Activity, Company, Contact, FollowUp
from pipeline.models import Deal, Pipeline, Stage, StageChange

OWNED = {
    "deal": Deal,
    "activity": Activity,
    "follow_up": FollowUp,
}
SHARED = {"company": Company, "contact": Contact}


def ids(queryset):
    return set(queryset.values_list("pk", flat=True))


def records(world, who, kind):
    return {getattr(getattr(world, key), kind).pk for key in who}


@pytest.mark.parametrize("kind", sorted(SHARED))
def test_rep_sees_every_customer_of_own_team_but_not_other_team(world, kind):
    model = SHARED[kind]
    assert ids(model.objects.visible_to(world.rep_a1)) == records(world, ["a1", "a2"], kind)
    assert ids(model.objects.visible_to(world.rep_b)) == records(world, ["b"], kind)


@pytest.mark.parametrize("kind", sorted(SHARED))
def test_rep_edits_only_own_customers(world, kind):
    model = SHARED[kind]
    assert ids(model.objects.editable_by(world.rep_a1)) == records(world, ["a1"], kind)


@pytest.mark.parametrize("kind", sorted(OWNED))
def test_rep_sees_and_edits_only_own_deals_activities_follow_ups(world, kind):
    model = OWNED[kind]
    assert ids(model.objects.visible_to(world.rep_a1)) == records(world, ["a1"], kind)
    assert ids(model.objects.editable_by(world.rep_a1)) == records(world, ["a1"], kind)
    assert ids(model.objects.visible_to(world.rep_a2)) == records(world, ["a2"], kind)


@pytest.mark.parametrize("kind", sorted({**OWNED, **SHARED}))
def test_manager_sees_and_edits_everything_of_managed_team_only(world, kind):
    model = {**OWNED, **SHARED}[kind]
    assert ids(model.objects.visible_to(world.manager_a)) == records(world, ["a1", "a2"], kind)
    assert ids(model.objects.editable_by(world.manager_a)) == records(world, ["a1", "a2"], kind)
    assert ids(model.objects.visible_to(world.manager_b)) == records(world, ["b"], kind)


@pytest.mark.parametrize("kind", sorted({**OWNED, **SHARED}))
def test_admin_sees_and_edits_all(world, kind):
    model = {**OWNED, **SHARED}[kind]
    assert ids(model.objects.visible_to(world.admin)) == records(world, ["a1", "a2", "b"], kind)
    assert ids(model.objects.editable_by(world.admin)) == records(world, ["a1", "a2", "b"], kind)


@pytest.mark.parametrize("model", [Deal, Company, Contact, Activity, FollowUp, StageChange, Pipeline, Stage])
def test_anonymous_and_inactive_users_see_nothing(world, model):
    assert not model.objects.visible_to(AnonymousUser()).exists()
    world.rep_a1.is_active = False
    assert not model.objects.visible_to(world.rep_a1).exists()


def test_stage_changes_follow_their_deal(world):
    assert ids(StageChange.objects.visible_to(world.rep_a1)) == {world.a1.stage_change.pk}
    assert ids(StageChange.objects.visible_to(world.manager_b)) == {world.b.stage_change.pk}
    assert not StageChange.objects.editable_by(world.rep_a1).exists()


def test_reference_data_is_read_by_all_and_edited_by_admins(world):
    assert ids(Stage.objects.visible_to(world.rep_b)) == ids(Stage.objects.all())
    assert not Pipeline.objects.editable_by(world.manager_a).exists()
    assert ids(Pipeline.objects.editable_by(world.admin)) == {world.pipeline.pk}


def test_manager_also_sees_deal_of_a_member_filed_under_another_team(world, pipeline):
    """A rep of team A who is also in team C: the manager of A still sees that rep's deals (owner's manager)."""
    from tests import factories as f

    team_c = f.TeamFactory(name="فريق جدة")
    f.MembershipFactory(user=world.rep_a1, team=team_c)
    deal = f.DealFactory(owner=world.rep_a1, team=team_c, stage=pipeline.s.lead)
    assert Deal.objects.visible_to(world.manager_a).filter(pk=deal.pk).exists()
    assert Deal.objects.editable_by(world.manager_a).filter(pk=deal.pk).exists()
    assert not Deal.objects.visible_to(world.manager_b).filter(pk=deal.pk).exists()


def test_visibility_reads_the_memberships_once_per_user_object(world, django_assert_num_queries):
    from accounts.models import User

    manager = User.objects.get(pk=world.manager_a.pk)
    with django_assert_num_queries(2):  # the manager's memberships, then the deals
        list(Deal.objects.visible_to(manager))
    with django_assert_num_queries(2):
        list(Deal.objects.visible_to(manager))
        list(Contact.objects.editable_by(manager))


def test_visibility_compares_literal_ids_so_indexes_apply(world):
    """No membership subquery in the rule: PostgreSQL can combine the owner and team indexes."""
    rep_where = str(Deal.objects.visible_to(world.rep_a1).query).split(" WHERE ", 1)[1]
    assert "accounts_membership" not in rep_where
    assert f'owner_id" IN ({world.rep_a1.pk})' in rep_where and "team_id" not in rep_where
    manager_where = str(Contact.objects.visible_to(world.manager_a).query).split(" WHERE ", 1)[1]
    assert "accounts_membership" not in manager_where
    assert f'team_id" IN ({world.team_a.pk})' in manager_where


def test_a_membership_change_reaches_a_user_object_that_already_applied_the_rules(world, pipeline):
    from tests import factories as f

    rep = world.rep_a1
    team_c = f.TeamFactory(name="فريق جدة")
    contact = f.ContactFactory(owner=world.rep_b, team=team_c)
    assert not Contact.objects.visible_to(rep).filter(pk=contact.pk).exists()
    membership = f.MembershipFactory(user=rep, team=team_c)
    assert Contact.objects.visible_to(rep).filter(pk=contact.pk).exists()
    membership.delete()
    assert not Contact.objects.visible_to(rep).filter(pk=contact.pk).exists()
