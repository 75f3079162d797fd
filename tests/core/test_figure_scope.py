"""Whose figures a member reads and for whom they set targets: one rule in core.querysets, used by analytics."""

from accounts.models import User
from core.querysets import figure_team_ids, managed_people_q, sees_only_self


def test_admin_reads_every_team_manager_their_managed_teams_rep_their_own(world):
    assert figure_team_ids(world.admin) is None
    assert figure_team_ids(world.manager_a) == (world.team_a.pk,)
    assert figure_team_ids(world.rep_b) == (world.team_b.pk,)


def test_only_a_member_who_manages_no_team_sees_only_their_own_figures(world):
    assert sees_only_self(world.rep_a1)
    assert not sees_only_self(world.manager_a)
    assert not sees_only_self(world.admin)


def test_targets_are_set_for_the_managed_people_not_oneself(world):
    managed = set(User.objects.filter(managed_people_q(world.manager_a)).values_list("username", flat=True))
    assert managed == {"rep_a1", "rep_a2"}
    assert User.objects.filter(managed_people_q(world.rep_a1)).count() == 0
    assert User.objects.filter(managed_people_q(world.admin)).count() == User.objects.count()
