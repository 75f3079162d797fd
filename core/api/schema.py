"""OpenAPI: the error shape, the headers and the error responses every endpoint shares.

`SafqaAutoSchema` (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]) adds them to each operation, so a view
does not repeat them, and documents only what the view really does:

- `If-Match` on the writes that honour it: PUT/PATCH/DELETE of versioned records (views with
  `expected_version`, see core/api/viewsets.py) and the actions a viewset lists in `if_match_actions`;
- `Idempotency-Key` on every POST whose handler is wrapped in `core.api.idempotency.idempotent`;
- `ETag` on the single-record answers of versioned records, `Retry-After` on 429;
- path ids typed as integers (the routes accept any text, so a malformed id still answers the JSON 404);
- every 4xx answer with the one error component, `Error`.

`postprocess_schema` (a drf-spectacular postprocessing hook) adds what a single operation cannot:
OpenAPI links from each create to the operations on the created record.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance, get_view_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from core.api.idempotency import IDEMPOTENCY_KEY_PATTERN, MAX_KEY_LENGTH
from core.api.serializers import StrictSerializerMixin
from core.text import INVISIBLE_CHARACTERS


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
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": IDEMPOTENCY_KEY_PATTERN},
    OpenApiParameter.HEADER,
    description=str(
        _(
            "Any unique string of 1 to 255 visible ASCII characters (a UUID): a retry with the same key within "
            "24 hours returns the first response; the same key with another request answers 422."
        )
    ),
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    {"type": "integer", "minimum": 0},
    OpenApiParameter.HEADER,
    description=str(_("Seconds to wait before sending another request.")),
    response=["429"],
    required=True,
)
ETAG = OpenApiParameter(
    "ETag",
    {"type": "string", "pattern": r'^"[0-9]+"$'},
    OpenApiParameter.HEADER,
    description=str(_("The record's version; send it back in If-Match to change this version only.")),
    response=["200", "201"],
    required=True,
)

ERROR_DESCRIPTIONS = {
    "400": _("Invalid input: malformed JSON, wrong types, unknown fields or failed validation."),
    "401": _("Missing, invalid or revoked token."),
    "403": _("Not allowed (e.g. writing reference data without being an administrator, or a missing CSRF token)."),
    "404": _("Not found, or not visible to you."),
    "409": _("The record cannot be deleted while other records depend on it."),
    "412": _("If-Match does not match the record's current version."),
    "413": _("The request body is too large."),
    "414": _("The URL is too long (answered by the web server, without a JSON body)."),
    "415": _("Unsupported content type; send application/json."),
    "422": _("The Idempotency-Key was already used for a different request."),
    "429": _("Too many requests; retry after the number of seconds in Retry-After."),
}
# Answered before Safqa sees the request, so there is no error body to promise.
NO_BODY = {"414"}


def honours_idempotency_key(handler) -> bool:
    return getattr(handler, "honours_idempotency_key", False)


def _ecma_class(characters) -> str:
    """A regex character class body (ECMA-262 escapes) for a set of BMP characters."""
    codes = sorted(ord(c) for c in characters if ord(c) <= 0xFFFF)
    parts, start = [], None
    for index, code in enumerate(codes):
        start = code if start is None else start
        if index + 1 == len(codes) or codes[index + 1] != code + 1:
            parts.append(f"\\u{start:04x}" if start == code else f"\\u{start:04x}-\\u{code:04x}")
            start = None
    return "".join(parts)


def _not_blank(pattern: str | None) -> str:
    """`pattern` that also requires one visible character.

    DRF trims whitespace and core.text removes invisible format characters before a required
    text is checked for blankness, so "  " is refused like "".
    """
    visible = rf"\s{_ecma_class(INVISIBLE_CHARACTERS)}"
    if pattern and pattern.startswith("^[^") and pattern.endswith("]*$"):
        refused = pattern[3:-3]
        return f"^[^{refused}]*[^{refused}{visible}][^{refused}]*$"
    return pattern or f"[^{visible}]"


def _request_rules(field) -> dict:
    """What a field's validators accept, when they say (`validator.openapi_schema()`, e.g. the known currencies)."""
    rules = {}
    for validator in getattr(field, "validators", ()):
        describe = getattr(validator, "openapi_schema", None)
        if describe is not None:
            rules.update(describe())
    return rules


class SafqaAutoSchema(AutoSchema):
    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        serializer = force_instance(serializer)
        properties = schema.get("properties", {})
        for name, field in serializer.fields.items():
            spec = properties.get(name)
            if not isinstance(spec, dict):
                continue
            if spec.get("type") == "array" and not getattr(field, "allow_empty", True):
                spec.setdefault("minItems", 1)
            if direction == "response" and isinstance(field, serializers.EmailField) and spec.get("format") == "email":
                # A member or customer without an address has "" (not null), which is no email format.
                del spec["format"]
                spec["anyOf"] = [{"format": "email"}, {"maxLength": 0}]
            if direction == "request":
                spec.update(_request_rules(field))
                if (
                    isinstance(field, serializers.CharField)
                    and not field.allow_blank
                    and field.trim_whitespace
                    and spec.get("type") == "string"
                    and "enum" not in spec
                    and "format" not in spec
                ):
                    spec["pattern"] = _not_blank(spec.get("pattern"))
        if direction == "request" and isinstance(serializer, StrictSerializerMixin):
            # The API refuses unknown fields (400), so the schema says so.
            schema["additionalProperties"] = False
        return schema

    def _handler(self):
        """The view method that serves this operation (the viewset action, or the APIView's method)."""
        action = getattr(self.view, "action", None)
        return getattr(self.view, action or self.method.lower(), None)

    def _if_match(self) -> bool:
        action = getattr(self.view, "action", None)
        if action in getattr(self.view, "if_match_actions", ()):
            return True
        # Versioned records' viewsets (core.api.viewsets.SafqaViewSetMixin) check If-Match on every write.
        return self.method in ("PUT", "PATCH", "DELETE") and callable(getattr(self.view, "expected_version", None))

    def _idempotent(self) -> bool:
        return self.method == "POST" and honours_idempotency_key(self._handler())

    def _sends_etag(self) -> bool:
        # core.api.etag.ETagMixin sets ETag on a 2xx whose body is one record with a `version`.
        if not callable(getattr(self.view, "expected_version", None)) or self.method == "DELETE":
            return False
        serializer = self.get_response_serializers()
        if isinstance(serializer, dict):
            serializer = serializer.get(200) or serializer.get(201) or serializer.get("200") or serializer.get("201")
        serializer = force_instance(serializer)
        if not isinstance(serializer, serializers.Serializer) or self._is_list_view():
            return False
        return "version" in serializer.fields

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._if_match():
            parameters.append(IF_MATCH)
        if self._idempotent():
            parameters.append(IDEMPOTENCY_KEY)
        if self._sends_etag():
            parameters.append(ETAG)
        parameters.append(RETRY_AFTER)
        return parameters

    def _get_filter_parameters(self):
        parameters = super()._get_filter_parameters()
        filterset_class = getattr(self.view, "filterset_class", None) if self._is_list_view() else None
        filters = getattr(filterset_class, "base_filters", {})
        for parameter in parameters:
            choices = getattr(filters.get(parameter["name"]), "extra", {}).get("choices")
            if callable(choices) and "enum" not in parameter.get("schema", {}):
                # Choices given as a callable (e.g. the currencies) are not read by drf-spectacular.
                parameter["schema"]["enum"] = [str(value) for value, _label in choices()]
            # A filter's label is translated: as a `title`, generators would name classes after it
            # (an Arabic class name for whoever downloads the default schema). The description keeps it.
            parameter.get("schema", {}).pop("title", None)
            enum = parameter.get("schema", {}).get("enum")
            if enum is not None and "" not in enum:
                # django-filter reads an empty value as "no filter" (`?status=` lists everything).
                parameter["schema"]["enum"] = [*enum, ""]
        return parameters

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        # The routes take any text as the id (lookup_value_regex), so that a malformed id answers the
        # JSON 404; the id itself is the model's integer primary key.
        model = get_view_model(self.view, emit_warnings=False)
        lookup = getattr(self.view, "lookup_url_kwarg", None) or getattr(self.view, "lookup_field", "pk")
        if model is not None and getattr(self.view, "lookup_field", "pk") in ("pk", "id"):
            integer_pk = model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField", "IntegerField")
            for parameter in parameters:
                if integer_pk and parameter["name"] in (lookup, "id", "pk"):
                    parameter["schema"] = {"type": "integer"}
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = ["400", "401", "403", "404", "414", "429"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        if self._idempotent():
            codes.append("422")
        if self._if_match():
            codes.append("412")
        if self.method == "DELETE":
            codes.append("409")
        for code in codes:
            if code not in responses:
                responses[code] = {"description": str(ERROR_DESCRIPTIONS[code])}
        error = self._get_response_for_code(ErrorSerializer, "400", direction=direction)["content"]
        for code, response in responses.items():
            # Every error the API answers has the one shape, whatever a view's own decorator said.
            if code[0] in "45" and code not in NO_BODY:
                response["content"] = error
            response.setdefault("description", str(ERROR_DESCRIPTIONS.get(code, "")))
            if code == "429":
                response.setdefault("headers", {}).update(self._get_response_headers_for_code("429", direction))
        return responses


def _operations(result):
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method in ("get", "put", "patch", "post", "delete"):
                yield path, method, operation


def _overlapping_one_of_to_any_of(node) -> None:
    """`oneOf` of plain strings (e.g. "text without control characters" or "blank") → `anyOf`.

    drf-spectacular writes a blank-allowed text field with a pattern as oneOf [pattern, maxLength 0];
    when the pattern also matches "" (as ours do), "" matches both branches and is invalid under
    oneOf, though the API sends it. anyOf says what is meant.
    """
    if isinstance(node, dict):
        branches = node.get("oneOf")
        if isinstance(branches, list) and all(
            isinstance(branch, dict) and branch.get("type") == "string" and "enum" not in branch for branch in branches
        ):
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _overlapping_one_of_to_any_of(value)
    elif isinstance(node, list):
        for value in node:
            _overlapping_one_of_to_any_of(value)


def _ecma_patterns(node) -> None:
    """Drop the lone-surrogate range from text patterns (core.text refuses lone surrogates).

    In an ECMA-262 regex (what JSON Schema means by `pattern`) `\\ud800-\\udfff` matches UTF-16
    code units, so it would refuse every emoji and other astral character, which the API accepts;
    tools that compile patterns as Unicode (Rust, Python) cannot hold the range and ignore the
    whole pattern. Without it the pattern says exactly which characters are refused, except lone
    surrogates, which no UTF-8 JSON text carries.
    """
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and "\\ud800-\\udfff" in pattern:
            node["pattern"] = pattern.replace("\\ud800-\\udfff", "")
        for value in node.values():
            _ecma_patterns(value)
    elif isinstance(node, list):
        for value in node:
            _ecma_patterns(value)


def _query_text_without_nul(result) -> None:
    """Free-text query parameters refuse NUL (400): PostgreSQL cannot compare text holding one."""
    for _path, _method, operation in _operations(result):
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            free_text = schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema)
            if parameter.get("in") == "query" and free_text:
                schema["pattern"] = "^[^\\u0000]*$"


def postprocess_schema(result, generator, request, public):
    """Links from each create to the operations on its record; overlapping oneOf made anyOf.

    Generated clients and schemathesis' stateful phase follow the links: create a contact, then
    read, update, delete it; create a deal, then move, win or lose it.
    """
    _overlapping_one_of_to_any_of(result.get("components", {}))
    _ecma_patterns(result.get("components", {}))
    _query_text_without_nul(result)
    for path, method, operation in list(_operations(result)):
        if method != "post" or "{" in path:
            continue
        created = operation.get("responses", {}).get("201")
        if created is None:
            continue
        detail_prefix = f"{path}{{id}}/"
        links = {}
        for other_path, _other_method, other in _operations(result):
            if not other_path.startswith(detail_prefix) or other_path.count("{") != 1:
                continue
            operation_id = other["operationId"]
            links[operation_id] = {
                "operationId": operation_id,
                "parameters": {"id": "$response.body#/id"},
                "description": str(_("The record just created.")),
            }
        if links:
            created["links"] = links
    return result
