"""Fail when a gettext catalog has untranslated or fuzzy entries (the header excepted).

Usage: python scripts/check_catalog.py locale/ar/LC_MESSAGES/django.po
Needs only the standard library, so it runs before anything is installed.
"""

import re
import sys
from pathlib import Path

# Arabic has six plural forms (zero, one, two, 3–10, 11–99, 100 and up); every count needs all of them.
PLURAL_FORMS = 6


def entries(text: str):
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.strip().splitlines() if not line.startswith("#~")]
        if not any(line.startswith("msgid ") for line in lines):
            continue
        yield lines


def strings(lines, key: str) -> str:
    value, collecting = [], False
    for line in lines:
        if line.startswith(key + " "):
            collecting = True
            value.append(line[len(key) + 1 :].strip()[1:-1])
        elif collecting and line.startswith('"'):
            value.append(line.strip()[1:-1])
        else:
            collecting = False if not line.startswith('"') else collecting
    return "".join(value)


def problems(path: Path) -> list[str]:
    found = []
    for lines in entries(path.read_text(encoding="utf-8")):
        msgid = strings(lines, "msgid")
        if msgid == "":
            continue  # header
        flags = " ".join(line for line in lines if line.startswith("#,"))
        if "fuzzy" in flags:
            found.append(f"fuzzy: {msgid!r}")
        keys = [line.split(" ", 1)[0] for line in lines if line.startswith("msgstr")]
        if any(strings(lines, key) == "" for key in keys):
            found.append(f"untranslated: {msgid!r}")
        if any(line.startswith("msgid_plural ") for line in lines) and len(keys) < PLURAL_FORMS:
            found.append(f"{len(keys)} of {PLURAL_FORMS} plural forms: {msgid!r}")
    return found


if __name__ == "__main__":
    issues = [f"{name}: {problem}" for name in sys.argv[1:] for problem in problems(Path(name))]
    for line in issues:
        print(line)
    if issues:
        print(f"{len(issues)} catalog problem(s)", file=sys.stderr)
        sys.exit(1)
    print("catalog complete: no untranslated or fuzzy entries")
