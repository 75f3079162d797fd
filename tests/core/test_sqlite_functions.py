"""The embedded SQLite database of `make run` gets the PostgreSQL functions shared queries use."""

import sqlite3

from core.sqlite import regexp_replace
from transfers.duplicates import _DOMAIN, website_domain


def test_regexp_replace_has_postgresqls_meaning():
    assert regexp_replace("https://www.example.sa/ar", _DOMAIN, r"\3") == "example.sa"
    assert regexp_replace("aaa", "a", "b") == "baa"  # the first match only, as PostgreSQL without 'g'
    assert regexp_replace(None, "a", "b") is None


def test_a_sqlite_connection_can_call_it_in_a_query():
    connection = sqlite3.connect(":memory:")
    connection.create_function("regexp_replace", 3, regexp_replace, deterministic=True)
    [(domain,)] = connection.execute("SELECT regexp_replace(lower(?), ?, ?)", ["HTTP://Example.SA/x", _DOMAIN, r"\3"])
    assert domain == website_domain("HTTP://Example.SA/x") == "example.sa"
