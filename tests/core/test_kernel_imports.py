"""The kernel imports no domain app: core/ sits below every app (apps register with it in AppConfig.ready())."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_APPS = {
    "accounts",
    "crm",
    "pipeline",
    "analytics",
    "notifications",
    "transfers",
    "webhooks",
    "search",
    "workspace",
    "assistant",
    "surveys",
    "bench",
}


def domain_imports(directory: Path) -> list[str]:
    """Every `import x` / `from x import …` of a domain app in the Python files under `directory`, at any depth."""
    found = []
    for path in sorted(directory.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [
                f"{path.relative_to(directory.parent)}:{node.lineno} {name}"
                for name in names
                if name.split(".")[0] in DOMAIN_APPS
            ]
    return found


def test_core_imports_no_domain_app():
    assert domain_imports(ROOT / "core") == []


def test_the_check_finds_an_import_inside_a_function(tmp_path):
    kernel = tmp_path / "core"
    kernel.mkdir()
    (kernel / "x.py").write_text("def f():\n    from crm.models import Contact\n    import pipeline.selectors\n")
    assert domain_imports(kernel) == ["core/x.py:2 crm.models", "core/x.py:3 pipeline.selectors"]
