"""Every endpoint × action × caller, with the expected status, and no list ever leaks an invisible record.

The records acted on belong to rep_a1 in team A (tests/conftest.py `world`). The callers:
anonymous, a rep of the same team (rep_a2), a rep of another team (rep_b), the
team's manager (manager_a), another team's manager (manager_b) and an admin.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Team, User
from cases.models import Case
from crm.models import Activity, Company, Contact, FollowUp
from pipeline.models import Deal, Pipeline
from tests import factories as f

CALLERS = ["anonymous", "rep_same_team", "rep_other_team", "manager_of_team", "manager_other_team", "admin"]
USERNAMES = {
    "rep_same_team": "rep_a2",
    "rep_other_team": "rep_b",
    "manager_of_team": "manager_a",
    "manager_other_team": "manager_b",
    "admin": "admin",
}
# Who may see / edit rep_a1's record, by the kind of visibility rule of the model.
SEES = {
    "team": {"rep_same_team", "manager_of_team", "admin"},
    "owned": {"manager_of_team", "admin"},
    "everyone": set(CALLERS) - {"anonymous"},
}
EDITS = {"team": {"manager_of_team", "admin"}, "owned": {"manager_of_team", "admin"}, "everyone": {"admin"}}


def _soon():
    return (timezone.now() + timedelta(days=1)).isoformat()


def _case(w):
    """rep_a1's support case (cases app), made once per world."""
    if not hasattr(w, "case"):
        w.case = f.CaseFactory(owner=w.rep_a1, team=w.team_a, contact=w.a1.contact)
    return w.case


ENDPOINTS = {
    "companies": {
        "model": Company,
        "rule": "team",
        "record": lambda w: w.a1.company,
        "fresh": lambda w: f.CompanyFactory(owner=w.rep_a1, team=w.team_a),
        "patch": {"city": "جدة"},
        "create": lambda w: {"name": "شركة الأفق"},
    },
    "contacts": {
        "model": Contact,
        "rule": "team",
        "record": lambda w: w.a1.contact,
        "fresh": lambda w: f.ContactFactory(owner=w.rep_a1, team=w.team_a),
        "patch": {"job_title": "مدير"},
        "create": lambda w: {"first_name": "هالة"},
    },
    "deals": {
        "model": Deal,
        "rule": "owned",
        "record": lambda w: w.a1.deal,
        "fresh": lambda w: f.DealFactory(owner=w.rep_a1, team=w.team_a, stage=w.pipeline.s.lead),
        "patch": {"title": "صفقة معدلة"},
        "create": lambda w: {"title": "صفقة", "amount": "100.00", "currency": "SAR"},
    },
    "activities": {
        "model": Activity,
        "rule": "owned",
        "record": lambda w: w.a1.activity,
        "fresh": lambda w: f.ActivityFactory(actor=w.rep_a1, team=w.team_a, contact=w.a1.contact),
        "patch": {"body": "تصحيح"},
        "create": lambda w: {"kind": "note", "body": "ملاحظة"},
    },
    "follow-ups": {
        "model": FollowUp,
        "rule": "owned",
        "record": lambda w: w.a1.follow_up,
        "fresh": lambda w: f.FollowUpFactory(assignee=w.rep_a1, team=w.team_a, contact=w.a1.contact),
        "patch": {"subject": "موعد جديد"},
        "create": lambda w: {"subject": "اتصل", "due_at": _soon()},
    },
    "cases": {
        "model": Case,
        "rule": "owned",
        "record": _case,
        "fresh": lambda w: f.CaseFactory(owner=w.rep_a1, team=w.team_a, contact=w.a1.contact),
        "patch": {"subject": "طلب معدل"},
        "create": lambda w: {"subject": "لا يعمل"},
    },
    "pipelines": {
        "model": Pipeline,
        "rule": "everyone",
        "record": lambda w: w.pipeline,
        "fresh": lambda w: f.PipelineFactory(),
        "patch": {"order": 9},
        "create": lambda w: {"name": "التجديدات"},
    },
    "users": {"model": User, "rule": "everyone", "record": lambda w: w.rep_a1, "read_only": True},
    "teams": {"model": Team, "rule": "everyone", "record": lambda w: w.team_a, "read_only": True},
}
WRITABLE = [name for name, spec in ENDPOINTS.items() if not spec.get("read_only")]


@pytest.fixture
def as_caller(world, bearer):
    def make(caller):
        user = None if caller == "anonymous" else User.objects.get(username=USERNAMES[caller])
        return bearer(user, HTTP_ACCEPT_LANGUAGE="en"), user

    return make


def _all_ids(api, path):
    ids, url = [], f"/api/v1/{path}/?page_size=500"
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.json()
        ids += [item["id"] for item in response.json()["results"]]
        url = response.json()["next"]
    return ids


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_list_shows_exactly_what_the_caller_may_see(world, as_caller, path, caller):
    api, user = as_caller(caller)
    if user is None:
        assert api.get(f"/api/v1/{path}/").status_code == 401
        return
    spec = ENDPOINTS[path]
    spec["record"](world)  # a record made on first use (a case) exists before the list is read
    ids = _all_ids(api, path)
    visible = set(spec["model"].objects.visible_to(user).values_list("pk", flat=True))
    if path == "users":
        visible = set(User.objects.filter(is_active=True).values_list("pk", flat=True))
    assert len(ids) == len(set(ids))
    assert set(ids) == visible  # nothing invisible leaks, nothing visible is missing
    assert (spec["record"](world).pk in ids) == (caller in SEES[spec["rule"]])


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_retrieve(world, as_caller, path, caller):
    api, user = as_caller(caller)
    spec = ENDPOINTS[path]
    response = api.get(f"/api/v1/{path}/{spec['record'](world).pk}/")
    expected = 401 if user is None else 200 if caller in SEES[spec["rule"]] else 404
    assert response.status_code == expected
    if expected != 200:
        assert set(response.json()) == {"error"}


def _create_expected(path, caller):
    if caller == "anonymous":
        return 401
    if path == "pipelines":
        return 201 if caller == "admin" else 403
    if path == "activities" and caller == "admin":
        # An activity is logged in its author's team; this admin belongs to none.
        return 400
    return 201


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_create(world, as_caller, path, caller):
    api, user = as_caller(caller)
    spec = ENDPOINTS[path]
    if spec.get("read_only"):
        assert api.post(f"/api/v1/{path}/", {}, format="json").status_code == (401 if user is None else 405)
        return
    body = spec["create"](world)
    if path in ("activities", "cases"):
        body["contact"] = (world.b.contact if caller.endswith("other_team") else world.a1.contact).pk
    if caller == "admin" and path == "cases":
        body["owner"] = world.rep_a1.pk
    if caller == "admin" and path in ("companies", "contacts", "deals"):
        body["owner"] = world.rep_a1.pk  # an admin assigns; they belong to no team themselves
    if caller == "admin" and path == "follow-ups":
        body["assignee"] = world.rep_a1.pk
    before = spec["model"].objects.count()
    response = api.post(f"/api/v1/{path}/", body, format="json")
    expected = _create_expected(path, caller)
    assert response.status_code == expected, response.json()
    assert spec["model"].objects.count() == before + (1 if expected == 201 else 0)


def _write_expected(spec, caller, success):
    if caller == "anonymous":
        return 401
    if spec["rule"] == "everyone":
        return success if caller == "admin" else 403
    return success if caller in EDITS[spec["rule"]] else 404


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_update(world, as_caller, path, caller):
    api, user = as_caller(caller)
    spec = ENDPOINTS[path]
    record = spec["record"](world)
    url = f"/api/v1/{path}/{record.pk}/"
    if spec.get("read_only"):
        assert api.patch(url, {}, format="json").status_code == (401 if user is None else 405)
        return
    ((field, value),) = spec["patch"].items()
    response = api.patch(url, spec["patch"], format="json")
    expected = _write_expected(spec, caller, 200)
    assert response.status_code == expected, response.json()
    record.refresh_from_db()
    assert (getattr(record, field) == value) == (expected == 200)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_delete(world, as_caller, path, caller):
    api, user = as_caller(caller)
    spec = ENDPOINTS[path]
    if spec.get("read_only"):
        response = api.delete(f"/api/v1/{path}/{spec['record'](world).pk}/")
        assert response.status_code == (401 if user is None else 405)
        return
    record = spec["fresh"](world)
    response = api.delete(f"/api/v1/{path}/{record.pk}/")
    expected = _write_expected(spec, caller, 204)
    assert response.status_code == expected
    assert spec["model"].objects.filter(pk=record.pk).exists() == (expected != 204)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("action", ["move", "won", "lost"])
def test_deal_actions(world, as_caller, action, caller):
    api, _user = as_caller(caller)
    deal = world.a1.deal
    body = {
        "move": {"stage": world.pipeline.s.proposal.pk},
        "won": {},
        "lost": {"loss_reason": f.LossReasonFactory().pk},
    }[action]
    response = api.post(f"/api/v1/deals/{deal.pk}/{action}/", body, format="json")
    expected = _write_expected(ENDPOINTS["deals"], caller, 200)
    assert response.status_code == expected, response.json()
    deal.refresh_from_db()
    assert (deal.stage_id != world.pipeline.s.lead.pk) == (expected == 200)


@pytest.mark.parametrize("caller", CALLERS)
def test_bulk_upsert_needs_a_signed_in_caller(world, as_caller, caller):
    api, user = as_caller(caller)
    body = {"items": [{"external_source": "t", "external_id": caller, "first_name": "س"}]}
    if caller == "admin":
        body["items"][0]["owner"] = world.rep_a1.pk
    response = api.post("/api/v1/contacts/bulk/", body, format="json")
    assert response.status_code == (401 if user is None else 200)
    if user is not None:
        assert response.json()["results"][0]["status"] == "created"
