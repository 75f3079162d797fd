"""OpenAPI: the error shape, the headers and the error responses every endpoint shares.

`SafqaAutoSchema` adds them to each operation, so a viewset does not repeat them:
If-Match on PUT/PATCH/DELETE and on the actions a viewset lists in
`if_match_actions`, Idempotency-Key on every POST, and the error responses.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("Machine-readable error code, e.g. not_found, invalid."))
    message = serializers.CharField(help_text=_("Human-readable message in the request's Accept-Language."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("Field name → messages, for invalid input; empty otherwise."),
    )


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API."""

    error = ErrorBodySerializer()


IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=str(_('The record\'s ETag, e.g. "3". A stale one answers 412 and changes nothing.')),
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=str(_("Any unique string (a UUID): a retry with the same key returns the first response.")),
)

ERROR_DESCRIPTIONS = {
    "400": _("Invalid input: malformed JSON, wrong types, unknown fields or failed validation."),
    "401": _("Missing, invalid or revoked token."),
    "403": _("Not allowed (e.g. writing reference data without being an administrator, or a missing CSRF token)."),
    "404": _("Not found, or not visible to you."),
    "409": _("The record cannot be deleted while other records depend on it."),
    "412": _("If-Match does not match the record's current version."),
    "413": _("The request body is too large."),
    "415": _("Unsupported content type; send application/json."),
    "422": _("The Idempotency-Key was already used for a different request."),
    "429": _("Too many requests; retry after the number of seconds in Retry-After."),
}


class SafqaAutoSchema(AutoSchema):
    def _if_match(self) -> bool:
        action = getattr(self.view, "action", None)
        return self.method in ("PUT", "PATCH", "DELETE") or action in getattr(self.view, "if_match_actions", ())

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._if_match():
            parameters.append(IF_MATCH)
        if self.method == "POST":
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = ["400", "401", "403", "404", "429"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        if self.method == "POST":
            codes.append("422")
        if self._if_match():
            codes.append("412")
        if self.method == "DELETE":
            codes.append("409")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = str(ERROR_DESCRIPTIONS[code])
        return responses
