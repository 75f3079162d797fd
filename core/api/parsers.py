"""A JSON parser that refuses oversized bodies (413) before reading them into memory,
and bodies nested deeper than MAX_JSON_DEPTH (400) before parsing them."""

import codecs
import json
import re
from itertools import accumulate

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers, status
from rest_framework.utils import json as drf_json

# Deepest nesting of arrays and objects a body may have. Python's json parser recurses once per
# level, so a body of a few thousand "[" exhausts the interpreter's stack (RecursionError, a 500);
# no Safqa request needs more than a handful of levels.
MAX_JSON_DEPTH = 64

# A JSON string once its escaped backslashes and quotes are gone (see json_depth): brackets
# inside one are text, not nesting. An unterminated string runs to the end of the text.
_STRING = re.compile(r'"[^"]*(?:"|\Z)')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


def max_body_bytes() -> int:
    return settings.API_MAX_BODY_BYTES


def request_too_large(request) -> bool:
    """Whether the request announces (Content-Length) a body over the limit."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > max_body_bytes()
    except ValueError:
        return False


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, in linear time and without recursion.

    Escaped backslashes, then escaped quotes, are dropped (pairs read left to right, as
    the JSON lexer reads them), which leaves each string a plain "…" to remove; then the
    running count of opening minus closing brackets is taken, at C speed throughout. For
    text that is not valid JSON the number is approximate, and json.loads refuses it anyway.
    """
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", unescaped))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


class LimitedJSONParser(parsers.JSONParser):
    """JSON with a size limit (settings.API_MAX_BODY_BYTES) and a nesting limit (MAX_JSON_DEPTH).

    Also reads bodies sent without Content-Length.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_body_bytes()
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            declared = int(length) if length else None
        except ValueError:
            declared = None
        if declared is not None and declared > limit:
            raise RequestTooLarge()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge()
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError):
            raise exceptions.ParseError(
                gettext("The request body is not valid %(encoding)s text.") % {"encoding": encoding}
            ) from None
        if json_depth(text) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(
                gettext("The JSON is nested too deeply: at most %(depth)d levels of arrays and objects.")
                % {"depth": MAX_JSON_DEPTH}
            )
        parse_constant = drf_json.strict_constant if self.strict else None
        try:
            return json.loads(text, parse_constant=parse_constant)
        except ValueError as error:
            raise exceptions.ParseError(gettext("JSON parse error: %(error)s") % {"error": error}) from None
        except RecursionError:  # a deeper stack than MAX_JSON_DEPTH needs; kept as a last guard
            raise exceptions.ParseError(gettext("The JSON is nested too deeply.")) from None
