"""Sync under concurrent writers: the client's copy converges to the server's, nothing missed, nothing repeated.

Writers hold their transaction open for a while after taking their change number,
so with a plain sequence later numbers would commit before earlier ones and a
client pulling meanwhile would skip the earlier ones for good.
"""

import random
import threading
import time

import pytest
from django.db import connections, transaction
from rest_framework.test import APIClient

from crm import services as crm_services
from crm.models import Contact

WRITERS = 4
OPERATIONS = 12


def _writer(number, world, errors, team_a_users):
    rng = random.Random(number)
    try:
        for step in range(OPERATIONS):
            by = rng.choice(team_a_users)
            action = rng.choice(["create", "create", "update", "update", "delete"])
            try:
                with transaction.atomic():
                    if action == "create" or not Contact.objects.filter(team=world.team_a).exists():
                        crm_services.contact_create(by=by, first_name=f"w{number}-{step}", team=world.team_a, owner=by)
                    else:
                        ids = list(Contact.objects.filter(team=world.team_a).values_list("pk", flat=True))
                        contact = Contact.objects.filter(pk=rng.choice(ids)).first()
                        if contact is None:
                            continue
                        manager = world.manager_a
                        if action == "update":
                            crm_services.contact_update(contact=contact, by=manager, job_title=f"t{number}-{step}")
                        else:
                            crm_services.contact_delete(contact=contact, by=manager)
                    # Slow commit: the change number is taken, the transaction is still open.
                    time.sleep(rng.choice([0, 0, 0.01, 0.05]))
            except Contact.DoesNotExist:
                continue  # another writer deleted it first
    except Exception as error:
        errors.append(error)
    finally:
        connections.close_all()


def _puller(user, resource, stop, state, errors):
    """Pull in a loop like a client: keep id → version, drop deleted ids, never accept a repeat."""
    api = APIClient()
    api.force_authenticate(user)
    try:
        while True:
            final = stop.is_set()
            while True:
                params = {"limit": 7}
                if state["token"]:
                    params["since"] = state["token"]
                response = api.get(f"/api/v1/{resource}/changes/", params)
                assert response.status_code == 200, response.content
                body = response.json()
                for change in body["changes"]:
                    key = (change["id"], change["version"])
                    assert key not in state["seen"], f"delivered twice: {key}"
                    state["seen"].add(key)
                    state["copy"][change["id"]] = change["version"]
                for tombstone in body["deleted"]:
                    state["copy"].pop(tombstone["id"], None)
                    state["deleted"].add(tombstone["id"])
                state["token"] = body["next_sync_token"]
                state["pulls"] += 1
                if not body["has_more"]:
                    break
            if final:
                return
            time.sleep(0.005)
    except Exception as error:
        errors.append(error)
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_client_copy_equals_server_after_concurrent_writes_and_deletes(world, monkeypatch):
    from core.api.throttling import TokenRateThrottle

    # The clients pull as fast as they can, far beyond a real client's rate.
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "100000/minute"})
    errors = []
    stop = threading.Event()
    rep_state = {"token": None, "copy": {}, "seen": set(), "deleted": set(), "pulls": 0}
    other_team = {"token": None, "copy": {}, "seen": set(), "deleted": set(), "pulls": 0}
    team_a_users = [world.rep_a1, world.rep_a2]
    pullers = [
        threading.Thread(target=_puller, args=(world.rep_a1, "contacts", stop, rep_state, errors)),
        threading.Thread(target=_puller, args=(world.rep_b, "contacts", stop, other_team, errors)),
    ]
    writers = [threading.Thread(target=_writer, args=(n, world, errors, team_a_users)) for n in range(WRITERS)]
    for thread in pullers + writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    stop.set()  # the pullers make one last complete pull, then stop
    for thread in pullers:
        thread.join(timeout=60)
    assert not errors, errors
    assert rep_state["pulls"] > 5

    server = dict(Contact.objects.visible_to(world.rep_a1).values_list("pk", "version"))
    assert rep_state["copy"] == server
    assert rep_state["deleted"], "the run deleted nothing: the test would not test tombstones"

    team_a_ids = set(Contact.objects.filter(team=world.team_a).values_list("pk", flat=True))
    assert other_team["copy"] == dict(Contact.objects.visible_to(world.rep_b).values_list("pk", "version"))
    assert not (set(other_team["copy"]) & team_a_ids)
    assert not (other_team["deleted"] & rep_state["deleted"])
