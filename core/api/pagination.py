"""Cursor pagination with a stable order for every API list."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Stable cursor pagination: newest change first, id as the tie-breaker."""

    ordering = ("-updated_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class IdCursorPagination(CursorPagination):
    """For lists of records without `updated_at` (users): by id."""

    ordering = ("id",)
