"""PostgreSQL functions the embedded SQLite database (make run) lacks, given to each of its connections.

Production and the test suite run on PostgreSQL; `make run` serves from SQLite with no other
service. A query written once for both (duplicates by website domain) uses `regexp_replace`,
which SQLite does not have, so each SQLite connection gets a Python one with PostgreSQL's
meaning: the first match replaced, `\\1`…`\\9` naming the groups.
"""

import re
from functools import lru_cache


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def regexp_replace(value, pattern, replacement):
    if value is None or pattern is None or replacement is None:
        return None
    return _compiled(pattern).sub(replacement, value, count=1)


def add_functions(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("regexp_replace", 3, regexp_replace, deterministic=True)
