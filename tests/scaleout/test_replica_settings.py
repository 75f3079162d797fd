"""DATABASE_REPLICA_URLS as settings read it, the views it serves, and use_replica() outside a request."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from tests import factories as f
from tests.scaleout.conftest import BASE_DIR, database_url_for_processes


def _python(code: str, **environment) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "DATABASE_"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING", **environment)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + textwrap.dedent(code)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


SETTINGS = """
    import json
    from django.conf import settings
    from django.core.exceptions import MiddlewareNotUsed
    from core.db_router import ReplicaRoutingMiddleware
    try:
        ReplicaRoutingMiddleware(lambda request: None)
        used = True
    except MiddlewareNotUsed:
        used = False
    print(json.dumps({
        "aliases": {alias: [db.get("HOST"), db.get("PORT"), db.get("NAME"), db.get("TEST")] for alias, db in settings.DATABASES.items()},
        "replicas": settings.DATABASE_REPLICAS,
        "routers": settings.DATABASE_ROUTERS,
        "middleware": used,
    }))
"""


def test_without_replica_urls_there_is_one_database_no_router_and_no_middleware():
    found = _python(SETTINGS, DATABASE_URL="postgres://postgres@127.0.0.1:5432/safqa")
    assert list(found["aliases"]) == ["default"]
    assert found["replicas"] == [] and found["routers"] == [] and found["middleware"] is False


def test_each_replica_url_is_an_alias_mirroring_the_primary_in_tests():
    found = _python(
        SETTINGS,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/safqa",
        DATABASE_REPLICA_URLS="postgres://reader@10.0.0.7:5433/safqa,postgres://reader@10.0.0.8/safqa",
    )
    assert found["replicas"] == ["replica_1", "replica_2"]
    assert found["aliases"]["replica_1"][:3] == ["10.0.0.7", 5433, "safqa"]
    assert found["aliases"]["replica_2"][0] == "10.0.0.8"
    assert found["aliases"]["replica_1"][3]["MIRROR"] == "default"
    assert found["routers"] == ["core.db_router.ReplicaRouter"] and found["middleware"] is True


def _url_names(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else pattern.namespace
            yield from _url_names(pattern.url_patterns, inner or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name


def test_every_view_named_for_the_replica_exists():
    """A renamed URL would silently move its reads back to the primary."""
    assert set(settings.DATABASE_REPLICA_VIEWS) - set(_url_names(get_resolver().url_patterns)) == set()


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_use_replica_outside_a_request_reads_the_replica_until_its_first_write(replica):
    team = f.TeamFactory()
    owner = f.UserFactory()
    replica.pause_replay()
    after = f.ContactFactory(owner=owner, team=team, first_name="After", last_name="Pause")
    found = _python(
        f"""
        import json
        from django.db import transaction
        from core.db_router import use_replica
        from crm.models import Contact

        seen = {{}}
        with use_replica():
            seen["marked"] = Contact.objects.filter(pk={after.pk}).exists()
            with transaction.atomic():
                seen["in_a_transaction"] = Contact.objects.filter(pk={after.pk}).exists()
            seen["still_marked"] = Contact.objects.filter(pk={after.pk}).exists()
            Contact.objects.filter(pk={after.pk}).update(notes="written inside use_replica()")
            seen["after_its_write"] = Contact.objects.filter(pk={after.pk}, notes__startswith="written").exists()
        with use_replica():
            seen["next_block"] = Contact.objects.filter(pk={after.pk}).exists()
        seen["unmarked"] = Contact.objects.filter(pk={after.pk}).exists()
        print(json.dumps(seen))
        """,
        DATABASE_URL=database_url_for_processes(),
        DATABASE_REPLICA_URLS=replica.url(),
    )
    assert found == {
        "marked": False,  # the paused replica has not replayed the row
        "in_a_transaction": True,  # a transaction on the primary reads the primary
        "still_marked": False,
        "after_its_write": True,  # the write went to the primary, and so did every read after it
        "next_block": False,  # a new block starts on the replica again
        "unmarked": True,
    }
