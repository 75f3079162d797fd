"""Clients generated from the live OpenAPI schema work: the schema is a contract integrators can build on.

Integrators generate their client from `/api/schema/`. These tests do the same, once per module:
openapi-python-client writes a Python package into a temporary folder, every one of its modules is
imported (a module that does not import is a broken operation for whoever uses it), and a contacts
sync runs against the live test server through that client's typed API only: a full copy by cursor
pages, the changes since a sync token with a deletion in between, a create retried with its
Idempotency-Key, a conditional update with a stale ETag, and a bulk upsert of 1,000 contacts with one
bad item; the walk-through in docs/api.md runs as written too. openapi-typescript turns the same schema into TypeScript types; `tsc --noEmit`
type-checks examples/ts/sync.ts against them, and the example, compiled, runs against the live server.

The tools come from requirements-dev.txt and package.json (`make install`); a missing one fails the
test with the command that installs it, rather than skipping the proof.
"""

import importlib
import json
import pkgutil
import re
import shutil
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest

from accounts.tokens import api_token_create
from crm import services as crm_services
from crm.models import Contact

ROOT = Path(__file__).resolve().parents[2]
# The package name docs/api.md uses, so its walk-through runs as written.
PACKAGE = "safqa_client"
# Generation and type-checking take a few seconds each; a hung tool must not hang the suite.
TOOL_TIMEOUT = 180


def _run(command: list[str], *, cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _tool(path: Path, install: str) -> str:
    if not path.exists():
        pytest.fail(f"{path} is missing: run `{install}` (or `make install`).")
    return str(path)


@pytest.fixture(scope="module")
def schema_file(live_server, django_db_setup, django_db_blocker, tmp_path_factory) -> Path:
    """The schema exactly as an integrator downloads it from the running server (JSON)."""
    folder = tmp_path_factory.mktemp("schema")
    with django_db_blocker.unblock(), urllib.request.urlopen(f"{live_server.url}/api/schema/?format=json") as answer:
        body = answer.read()
    json.loads(body)  # a schema that is not JSON fails here, not deep inside a generator
    path = folder / "safqa-api.json"
    path.write_bytes(body)
    return path


@pytest.fixture(scope="module")
def generated(schema_file, tmp_path_factory):
    """The package openapi-python-client generates from the schema, importable as PACKAGE."""
    generator = _tool(Path(sys.executable).parent / "openapi-python-client", "pip install -r requirements-dev.txt")
    folder = tmp_path_factory.mktemp("python-client")
    config = folder / "config.json"
    # No post hooks: formatting the generated code with ruff proves nothing and costs time.
    config.write_text(
        json.dumps({"project_name_override": PACKAGE, "package_name_override": PACKAGE, "post_hooks": []})
    )
    output = folder / PACKAGE
    command = [generator, "generate", "--path", str(schema_file), "--meta", "none", "--config", str(config)]
    output_text = _run([*command, "--output-path", str(output)], cwd=folder)
    # The generator leaves out, with a warning and a zero exit status, what it cannot understand.
    assert "Warning" not in output_text, output_text
    sys.path.insert(0, str(folder))
    yield output
    sys.path.remove(str(folder))
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def _module(name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture(scope="module")
def operation(generated, schema_file):
    """operation(method, path) -> the generated module of that operation, found by its operationId
    in the schema (the generator names a module after it, in a folder named after its tag)."""
    paths = json.loads(schema_file.read_text())["paths"]
    api = _module("api")
    modules = {
        info.name.rsplit(".", 1)[-1]: info.name for info in pkgutil.walk_packages(api.__path__, f"{PACKAGE}.api.")
    }

    def find(method: str, path: str):
        name = re.sub(r"[^0-9a-z]+", "_", paths[path][method]["operationId"].lower())
        assert name in modules, f"the generated client has no module for {method.upper()} {path} ({name})"
        return importlib.import_module(modules[name])

    return find


def _model(name: str):
    return getattr(_module("models"), name)


@pytest.fixture
def api(generated, world, live_server):
    """The generated client, signed in as rep_a1 with a real token, asking for English messages."""
    _record, token = api_token_create(user=world.rep_a1, name="generated client")
    client = _module("client").AuthenticatedClient(
        base_url=live_server.url, token=token, headers={"Accept-Language": "en"}, raise_on_unexpected_status=True
    )
    with client as open_client:
        yield open_client


def test_every_generated_python_module_imports(generated):
    failures = {}
    package = importlib.import_module(PACKAGE)
    names = [info.name for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")]
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as error:  # any error is a broken module for whoever generates the client
            failures[name] = repr(error)
    assert len(names) > 50
    assert failures == {}


def test_generated_names_are_ascii_whatever_the_schema_language(generated):
    # Class and module names come from the schema; a name taken from a translated label would
    # change with the language of whoever downloaded it (and be Arabic for the default one).
    names = [str(path.relative_to(generated)) for path in generated.rglob("*.py")]
    assert [name for name in names if not name.isascii()] == []


def test_every_enum_value_of_the_schema_is_a_member_of_its_generated_enum(generated, schema_file):
    # The generator names members after their values; two values that differ only by punctuation
    # (time zones "Etc/GMT+1" and "Etc/GMT-1") would get one member, and a client could not send one.
    components = json.loads(schema_file.read_text())["components"]["schemas"]
    models = _module("models")
    lost = {}
    for name, component in components.items():
        if component.get("type") == "string" and "enum" in component:
            members = {member.value for member in getattr(models, name)}
            missing = {value for value in component["enum"] if value is not None} - members
            if missing:
                lost[name] = sorted(missing)
    assert lost == {}


def test_write_bodies_ask_only_for_what_a_client_sends(generated):
    create, patch = _model("ContactRequest"), _model("PatchedContactRequest")
    read_only = {"id", "phone", "version", "created_at", "updated_at", "consent_updated_at", "last_contacted_at"}
    assert read_only.isdisjoint(attrs.fields_dict(create))
    assert read_only.isdisjoint(attrs.fields_dict(patch))
    assert create(first_name="ليلى").to_dict() == {"first_name": "ليلى"}
    assert patch(job_title="محاسبة").to_dict() == {"job_title": "محاسبة"}
    with pytest.raises(TypeError):
        create()  # first_name is the one field a new contact needs


def _full_copy_by_pages(api, operation, page_size: int) -> tuple[dict[int, object], int]:
    contacts_list = operation("get", "/api/v1/contacts/")
    copy, cursor, pages = {}, _module("types").UNSET, 0
    while True:
        page = contacts_list.sync(client=api, page_size=page_size, cursor=cursor)
        pages += 1
        copy.update({contact.id: contact for contact in page.results})
        if not page.next_:
            return copy, pages
        # `next` is a whole URL; the typed call takes its cursor (opaque, never built by hand).
        cursor = parse_qs(urlsplit(page.next_).query)["cursor"][0]


def _changes(api, operation, since=None, limit: int = 500) -> tuple[dict[int, object], set[int], str]:
    changes_since = operation("get", "/api/v1/contacts/changes/")
    unset = _module("types").UNSET
    changed, deleted, token = {}, set(), since
    while True:
        answer = changes_since.sync(client=api, since=unset if token is None else token, limit=limit)
        changed.update({record.id: record for record in answer.changes})
        deleted.update(tombstone.id for tombstone in answer.deleted)
        token = answer.next_sync_token
        if not answer.has_more:
            return changed, deleted, token


def test_full_sync_by_cursor_pages_then_changes_since_a_token_bring_the_tombstone(api, operation, world):
    for number in range(3):
        crm_services.contact_create(by=world.rep_a1, first_name=f"عميل {number}")
    visible = {contact.pk: contact.version for contact in Contact.objects.visible_to(world.rep_a1)}

    copy, pages = _full_copy_by_pages(api, operation, page_size=2)
    assert pages == 3
    assert {id_: contact.version for id_, contact in copy.items()} == visible

    changed, deleted, token = _changes(api, operation, limit=2)  # a full pass by changes gives the token
    assert set(changed) == set(visible) and deleted == set()

    crm_services.contact_update(contact=world.a1.contact, by=world.rep_a1, job_title="محاسب")
    crm_services.contact_delete(contact=world.a2.contact, by=world.rep_a2)
    changed, deleted, token_after = _changes(api, operation, since=token)
    assert set(changed) == {world.a1.contact.pk}
    assert changed[world.a1.contact.pk].job_title == "محاسب"
    assert deleted == {world.a2.contact.pk}
    assert token_after != token
    assert _changes(api, operation, since=token_after)[:2] == ({}, set())


def test_a_create_retried_with_its_idempotency_key_makes_one_contact(api, operation):
    create = operation("post", "/api/v1/contacts/")
    body = _model("ContactRequest")(first_name="سارة", last_name="الحربي", email="sara@example.com")
    key = str(uuid.uuid4())

    first = create.sync_detailed(client=api, body=body, idempotency_key=key)
    retry = create.sync_detailed(client=api, body=body, idempotency_key=key)

    assert first.status_code == retry.status_code == 201
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert isinstance(retry.parsed, _model("Contact")) and retry.parsed.id == first.parsed.id
    assert Contact.objects.filter(email="sara@example.com").count() == 1


def test_a_conditional_update_with_a_stale_etag_is_refused_and_retried_with_the_fresh_one(api, operation, world):
    retrieve = operation("get", "/api/v1/contacts/{id}/")
    update = operation("patch", "/api/v1/contacts/{id}/")
    patch = _model("PatchedContactRequest")
    contact_id = world.a1.contact.pk
    read = retrieve.sync_detailed(client=api, id=contact_id)
    stale = read.headers["ETag"]
    assert stale == f'"{read.parsed.version}"'

    crm_services.contact_update(contact=world.a1.contact, by=world.rep_a2, job_title="مدير مشتريات")
    refused = update.sync_detailed(client=api, id=contact_id, body=patch(notes="من التكامل"), if_match=stale)
    assert refused.status_code == 412
    assert isinstance(refused.parsed, _model("Error"))
    assert refused.parsed.error.code == "precondition_failed"
    assert Contact.objects.get(pk=contact_id).notes != "من التكامل"

    fresh = retrieve.sync_detailed(client=api, id=contact_id)  # handled: read again, re-apply, retry
    done = update.sync_detailed(
        client=api, id=contact_id, body=patch(notes="من التكامل"), if_match=fresh.headers["ETag"]
    )
    assert done.status_code == 200
    assert (done.parsed.notes, done.parsed.job_title) == ("من التكامل", "مدير مشتريات")
    assert done.headers["ETag"] == f'"{fresh.parsed.version + 1}"'


def test_a_bulk_upsert_of_a_thousand_contacts_reports_the_one_bad_item(api, operation):
    bulk = operation("post", "/api/v1/contacts/bulk/")
    envelope = _model("BulkContactsRequest")
    # The model the generator made for an item (its name is the schema's business). Items are free-form
    # objects in the schema on purpose: the endpoint checks each one itself and answers 200 with a result
    # per item, so an item that breaks a field rule is an item error, not a refused request.
    items_type = attrs.fields_dict(envelope)["items"].type
    item = (
        _model(items_type.removeprefix("list[").removesuffix("]"))
        if isinstance(items_type, str)
        else items_type.__args__[0]
    )
    items = [
        item.from_dict({"external_source": "erp", "external_id": f"C-{n}", "first_name": f"عميل {n}"})
        for n in range(1000)
    ]
    items[500] = item.from_dict(
        {"external_source": "erp", "external_id": "C-500", "first_name": "عميل 500", "email": "not an email"}
    )

    answer = bulk.sync(client=api, body=envelope(items=items), idempotency_key=str(uuid.uuid4()))

    assert len(answer.results) == 1000
    assert [result.index for result in answer.results] == list(range(1000))
    bad = answer.results[500]
    assert (str(bad.status), bad.id) == ("error", None)
    assert "email" in bad.errors.to_dict()
    assert {str(result.status) for n, result in enumerate(answer.results) if n != 500} == {"created"}
    assert Contact.objects.filter(external_source="erp").count() == 999


def test_the_python_walk_through_in_the_api_docs_runs(generated, world, live_server):
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = text[text.index("### Python (openapi-python-client)") :]
    code = section[section.index("```python\n") + len("```python\n") :]
    code = code[: code.index("```")]
    _record, token = api_token_create(user=world.rep_a1, name="docs walk-through")
    code = code.replace("https://crm.example.com", live_server.url).replace("sfq_…", token)
    assert live_server.url in code and token in code

    namespace = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)

    before = {world.a1.contact.pk, world.a2.contact.pk}  # the copies are taken before the writes
    assert set(namespace["listed"]) == set(namespace["copy"]) == before
    created = Contact.objects.get(pk=namespace["created"].id)
    assert created.job_title == "مديرة مشتريات"
    assert [str(result.status) for result in namespace["answer"].results] == ["created", "error"]


@pytest.fixture(scope="module")
def typescript_example(schema_file, tmp_path_factory) -> Path:
    """examples/ts/ beside the types openapi-typescript generates from the schema (./safqa-api.d.ts,
    the file the example's header tells an integrator to generate)."""
    generate = _tool(ROOT / "node_modules" / ".bin" / "openapi-typescript", "npm ci")
    folder = tmp_path_factory.mktemp("typescript")
    for name in ("sync.ts", "tsconfig.json"):
        shutil.copy(ROOT / "examples" / "ts" / name, folder / name)
    _run([generate, str(schema_file), "--output", str(folder / "safqa-api.d.ts")], cwd=folder)
    return folder


def test_the_typescript_sync_example_type_checks_against_types_generated_from_the_schema(typescript_example):
    tsc = _tool(ROOT / "node_modules" / ".bin" / "tsc", "npm ci")
    _run([tsc, "--noEmit", "-p", str(typescript_example / "tsconfig.json")], cwd=typescript_example)


def test_the_typescript_sync_example_runs_against_the_live_server(typescript_example, world, live_server, tmp_path):
    tsc = _tool(ROOT / "node_modules" / ".bin" / "tsc", "npm ci")
    node = shutil.which("node") or pytest.fail("node is missing (Node 20, as for `make install`)")
    # Emit only: the test above type-checks.
    options = ["--noEmit", "false", "--noCheck", "--outDir", str(tmp_path)]
    _run([tsc, "-p", str(typescript_example / "tsconfig.json"), *options], cwd=tmp_path)
    (tmp_path / "package.json").write_text('{"type": "module"}')
    _record, token = api_token_create(user=world.rep_a1, name="typescript example")
    safqa = json.dumps({"baseUrl": live_server.url, "token": token})
    script = (
        f"const example = await import({json.dumps((tmp_path / 'sync.js').as_uri())}); await example.main({safqa});"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
    )
    assert result.returncode == 0, result.stderr
    created = Contact.objects.get(email="layla@example.com")
    assert created.job_title == "مديرة مشتريات"
    assert result.stdout.splitlines() == [
        "full sync: 2 contacts",
        f"created {created.pk}, now version {created.version}",
        f"after changes: 3 contacts; save the token {result.stdout.rsplit(' ', 1)[-1].strip()}",
    ]
