"""One rule for sortable headers (the customer lists and the deal list)."""

from core.sorting import sort_columns


def test_the_current_column_is_marked_and_its_link_reverses_it():
    states = sort_columns("-amount", {"title": "title", "amount": "amount", "updated_at": "-updated_at"})
    assert states["amount"] == {"state": "descending", "next": "amount"}
    assert states["title"] == {"state": "", "next": "title"}
    assert states["updated_at"] == {"state": "", "next": "-updated_at"}
    assert sort_columns("title", {"title": "title"})["title"] == {"state": "ascending", "next": "-title"}
