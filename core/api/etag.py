"""ETag / If-Match for versioned records (companies, contacts, deals, activities, follow-ups, pipelines).

A detail response carries `ETag: "<version>"`. A write that sends `If-Match`
is refused with 412 when the stored version moved on; without `If-Match` the
write goes through (last write wins).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("Someone else changed this record while you were working on it. Reload it and try again.")
    default_code = "precondition_failed"


def etag_for(version: int) -> str:
    return f'"{version}"'


def if_match_version(request) -> int | None:
    """The version the client's `If-Match` names, or None when it sent none (or `*`).

    Accepts `"3"`, `W/"3"` and a bare `3`. Anything else cannot match a version,
    so it answers 412 as a stale tag would.
    """
    header = request.headers.get("If-Match")
    if header is None or header.strip() in ("", "*"):
        return None
    tag = header.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    if not tag.isascii() or not tag.isdigit():
        raise PreconditionFailed(_('If-Match must be the ETag of the record, for example "3".'))
    return int(tag)


class ETagMixin:
    """Adds `ETag` to every single-record response whose body has a `version`."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        data = getattr(response, "data", None)
        if 200 <= response.status_code < 300 and isinstance(data, dict) and isinstance(data.get("version"), int):
            response["ETag"] = etag_for(data["version"])
        return response
