"""The Arabic catalog check (scripts/check_catalog.py, run by `make check`) refuses gaps, plural ones too."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("check_catalog", ROOT / "scripts" / "check_catalog.py")
check_catalog = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_catalog)

HEADER = 'msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=6;\\n"\n\n'


def test_the_arabic_catalog_is_complete_with_six_plural_forms():
    assert check_catalog.problems(ROOT / "locale" / "ar" / "LC_MESSAGES" / "django.po") == []


def test_a_count_with_fewer_than_six_arabic_forms_is_a_problem(tmp_path):
    po = tmp_path / "django.po"
    forms = "\n".join(f'msgstr[{n}] "{n} يوم"' for n in range(5))
    po.write_text(HEADER + f'msgid "%(n)s day"\nmsgid_plural "%(n)s days"\n{forms}\n', encoding="utf-8")
    assert check_catalog.problems(po) == ["5 of 6 plural forms: '%(n)s day'"]
