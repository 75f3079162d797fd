"""Cursor pagination with a stable order for every API list."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, pagination


class CursorPagination(pagination.CursorPagination):
    """Stable cursor pagination: newest change first, id as the tie-breaker.

    `page_size` is a whole number from 1; anything else answers 400 (DRF would silently use the
    default, so a typo would page differently than the client asked). Above `max_page_size` it is
    cut to `max_page_size`, as the schema says.
    """

    ordering = ("-updated_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_ordering(self, request, queryset, view):
        """The list's `o` parameter when its FilterSet names it among `ordering_fields`, else the stable default.

        The cursor pages through the chosen column, with the id as the tie-breaker in the same
        direction, so a sorted list pages without repeats or gaps like the default one.
        """
        fields = getattr(getattr(view, "filterset_class", None), "ordering_fields", ())
        requested = request.query_params.get("o", "")
        if requested and requested.lstrip("-") in fields:
            return (requested, "-id" if requested.startswith("-") else "id")
        return super().get_ordering(request, queryset, view)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        digits = raw.lstrip("0")
        if not (raw.isascii() and raw.isdigit()) or not digits:
            raise exceptions.ValidationError(
                {
                    self.page_size_query_param: [
                        _("Enter a whole number from 1 (at most %(max)d are sent).") % {"max": self.max_page_size}
                    ]
                }
            )
        # Compared as text first: int() of thousands of digits is refused by Python itself.
        return self.max_page_size if len(digits) > 6 else min(int(digits), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = str(
                    _("Number of results per page (default %(default)d; more than %(max)d give %(max)d).")
                    % {"default": self.page_size, "max": self.max_page_size}
                )
        return parameters


class IdCursorPagination(CursorPagination):
    """For lists of records without `updated_at` (users): by id."""

    ordering = ("id",)
