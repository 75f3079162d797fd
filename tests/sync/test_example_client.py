"""examples/sync_client.py runs against a live server: full sync, incremental, deletions."""

import importlib.util
from pathlib import Path

import pytest

from accounts.tokens import api_token_create
from crm import services as crm_services
from crm.models import Contact


@pytest.fixture
def client_module():
    path = Path(__file__).resolve().parents[2] / "examples" / "sync_client.py"
    spec = importlib.util.spec_from_file_location("sync_client", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db(transaction=True)
def test_example_client_keeps_a_local_copy(world, live_server, client_module, tmp_path):
    _record, token = api_token_create(user=world.rep_a1, name="sync example")
    store = str(tmp_path / "contacts.json")
    received, deleted = client_module.sync(live_server.url, token, "contacts", store)
    assert received == 2 and deleted == 0

    crm_services.contact_update(contact=world.a1.contact, by=world.rep_a1, job_title="محاسب")
    crm_services.contact_delete(contact=world.a2.contact, by=world.rep_a2)
    assert client_module.sync(live_server.url, token, "contacts", store) == (1, 1)
    copy = client_module.load(store)["records"]
    server = {str(c.pk): c.version for c in Contact.objects.visible_to(world.rep_a1)}
    assert {key: record["version"] for key, record in copy.items()} == server
    assert copy[str(world.a1.contact.pk)]["job_title"] == "محاسب"
