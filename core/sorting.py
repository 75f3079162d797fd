"""Sortable list columns: the one rule for a header's aria-sort state and the order its link asks for."""


def sort_columns(current: str | None, columns: dict[str, str]) -> dict[str, dict]:
    """{column: {"state": "ascending" | "descending" | "", "next": the `o` value its header link sets}}.

    `current` is the list's `o` value (a column name, "-" in front when descending);
    `columns` maps each sortable column to the `o` its first click asks for (its name, or
    "-name" for columns read newest first). A click on the current column reverses it.
    """
    states = {}
    for name, first in columns.items():
        if current == name:
            states[name] = {"state": "ascending", "next": f"-{name}"}
        elif current == f"-{name}":
            states[name] = {"state": "descending", "next": name}
        else:
            states[name] = {"state": "", "next": first}
    return states
