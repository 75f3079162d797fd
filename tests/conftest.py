"""Shared fixtures: a small world of two teams with managers, reps and an admin."""

from types import SimpleNamespace

import pytest
from django.utils import translation

from accounts.models import Role
from pipeline.models import StageKind
from tests import factories as f


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Password hashing strength is not under test; the default costs ~0.3 s a user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_cache_keys(settings):
    # Each test gets its own cache key prefix: rate-limit counters and cached values never
    # leak between tests (or between parallel runs sharing one Redis), and nothing is flushed.
    import uuid

    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"safqa-test-{uuid.uuid4().hex}"} for name, config in settings.CACHES.items()
    }


@pytest.fixture(autouse=True)
def _arabic_by_default():
    """Each test starts in the product's default language, whatever the previous one activated."""
    translation.activate("ar")
    yield
    translation.deactivate()


@pytest.fixture
def pipeline(db):
    pipeline = f.PipelineFactory(name="المبيعات الجديدة", name_en="New business")
    stages = SimpleNamespace(
        lead=f.StageFactory(pipeline=pipeline, name="عميل محتمل", name_en="Lead", order=0, probability=10),
        proposal=f.StageFactory(pipeline=pipeline, name="عرض سعر", name_en="Proposal", order=1, probability=50),
        won=f.StageFactory(
            pipeline=pipeline, name="رابحة", name_en="Won", order=2, probability=100, kind=StageKind.WON
        ),
        lost=f.StageFactory(
            pipeline=pipeline, name="خاسرة", name_en="Lost", order=3, probability=0, kind=StageKind.LOST
        ),
    )
    pipeline.s = stages
    return pipeline


def _records_for(user, team, stage):
    company = f.CompanyFactory(owner=user, team=team)
    contact = f.ContactFactory(owner=user, team=team, company=company)
    deal = f.DealFactory(owner=user, team=team, stage=stage, company=company, contact=contact)
    return SimpleNamespace(
        company=company,
        contact=contact,
        deal=deal,
        stage_change=f.StageChangeFactory(deal=deal),
        activity=f.ActivityFactory(actor=user, team=team, contact=contact, company=company),
        follow_up=f.FollowUpFactory(assignee=user, team=team, contact=contact),
    )


@pytest.fixture
def world(db, pipeline):
    """Team A (manager_a, rep_a1, rep_a2) and team B (manager_b, rep_b), an admin, and records for each rep."""
    team_a = f.TeamFactory(name="فريق الرياض")
    team_b = f.TeamFactory(name="Dubai team", time_zone="Asia/Dubai")
    admin = f.UserFactory(username="admin", role=Role.ADMIN)
    manager_a = f.UserFactory(username="manager_a", role=Role.MANAGER)
    manager_b = f.EnglishUserFactory(username="manager_b", role=Role.MANAGER)
    rep_a1 = f.UserFactory(username="rep_a1")
    rep_a2 = f.EnglishUserFactory(username="rep_a2")
    rep_b = f.UserFactory(username="rep_b")
    f.MembershipFactory(user=manager_a, team=team_a, is_manager=True)
    f.MembershipFactory(user=manager_b, team=team_b, is_manager=True)
    f.MembershipFactory(user=rep_a1, team=team_a)
    f.MembershipFactory(user=rep_a2, team=team_a)
    f.MembershipFactory(user=rep_b, team=team_b)
    return SimpleNamespace(
        pipeline=pipeline,
        team_a=team_a,
        team_b=team_b,
        admin=admin,
        manager_a=manager_a,
        manager_b=manager_b,
        rep_a1=rep_a1,
        rep_a2=rep_a2,
        rep_b=rep_b,
        a1=_records_for(rep_a1, team_a, pipeline.s.lead),
        a2=_records_for(rep_a2, team_a, pipeline.s.lead),
        b=_records_for(rep_b, team_b, pipeline.s.proposal),
    )


@pytest.fixture
def eager_celery():
    """Run tasks in-process (as without REDIS_URL), whatever broker the suite found."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before
