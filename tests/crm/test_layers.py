"""Deals depend on customers, never the reverse: crm's services and tasks import no pipeline module.

What a company's or contact's write must know of deals (refusals, deals losing their contact) pipeline
tells crm in its AppConfig.ready() (crm.hooks); the follow-ups Safqa schedules for deals live in
pipeline.automations.
"""

from pathlib import Path

from crm import hooks
from pipeline.models import Deal
from tests.core.test_kernel_imports import domain_imports

ROOT = Path(__file__).resolve().parents[2]


def _pipeline_imports(directory: Path) -> list[str]:
    return [found for found in domain_imports(directory) if found.split()[-1].split(".")[0] == "pipeline"]


def test_crm_services_import_no_pipeline_module():
    writes = ("crm/services/", "crm/hooks.py", "crm/tasks.py")
    assert [found for found in _pipeline_imports(ROOT / "crm") if found.startswith(writes)] == []


def test_the_check_sees_a_pipeline_import(tmp_path):
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "x.py").write_text("def f():\n    from pipeline.models import Deal\n")
    assert _pipeline_imports(tmp_path / "services") == ["services/x.py:2 pipeline.models"]


def test_pipeline_registers_deals_with_crm():
    [deal] = [dependent for dependent in hooks.dependents() if dependent.model is Deal]
    assert deal.updated_event == "deal.updated" and deal.company_delete_refusal
