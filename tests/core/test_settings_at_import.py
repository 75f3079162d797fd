"""Settings are read when needed, never at import time (outside config/): tests and override_settings then see the value in force."""

import ast
from pathlib import Path

from tests.core.test_kernel_imports import DOMAIN_APPS

ROOT = Path(__file__).resolve().parents[2]
APPS = ["core", *sorted(DOMAIN_APPS)]


# Read at class creation by Django's own design, and recorded in migrations: the swappable user model,
# and the interface languages as model and serializer choices (a constant of the product, not a deployment knob).
ALLOWED = {"AUTH_USER_MODEL"}
ALLOWED_IN_DECLARATIONS = {"AUTH_USER_MODEL", "LANGUAGES"}


class _ImportTimeReads(ast.NodeVisitor):
    """`settings.X` evaluated when the module is imported: in module and class bodies, defaults and decorators."""

    def __init__(self, allowed=ALLOWED):
        self.found = []
        self.allowed = allowed

    def visit_FunctionDef(self, node):
        # The body runs later; defaults and decorators run now.
        for expression in [*node.args.defaults, *node.args.kw_defaults, *node.decorator_list]:
            if expression is not None:
                self.visit(expression)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        pass

    def visit_Attribute(self, node):
        if isinstance(node.value, ast.Name) and node.value.id == "settings" and node.attr not in self.allowed:
            self.found.append(f"{node.lineno} settings.{node.attr}")
        self.generic_visit(node)


def import_time_reads(path: Path, allowed=ALLOWED) -> list[str]:
    visitor = _ImportTimeReads(allowed)
    visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
    return visitor.found


def test_no_app_reads_settings_at_import_time():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for line in import_time_reads(
            path, allowed=ALLOWED_IN_DECLARATIONS if path.name in ("models.py", "serializers.py") else ALLOWED
        )
    ]
    assert found == []


def test_the_check_sees_a_module_level_read_and_not_one_inside_a_function(tmp_path):
    source = tmp_path / "x.py"
    source.write_text(
        "from django.conf import settings\n"
        "LANGS = {c for c, _n in settings.LANGUAGES}\n"
        "def f():\n    return settings.DEBUG\n"
        "class A:\n    zone = settings.TIME_ZONE\n"
    )
    assert import_time_reads(source, allowed=set()) == ["2 settings.LANGUAGES", "6 settings.TIME_ZONE"]


def test_settings_make_no_directory_and_set_no_names_through_vars():
    source = (ROOT / "config" / "settings.py").read_text(encoding="utf-8")
    assert "mkdir" not in source
    assert "vars()" not in source
