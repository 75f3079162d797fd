"""The personal link of a survey: a signed token carrying the survey's id and its single-use nonce.

Signed with the project's secret under its own salt (django.core.signing), so a link
cannot be made up or altered; it expires after SURVEY_LINK_DAYS (the signature's
timestamp) and, independently, at the survey's `expires_at`; it works once, because
answering clears the nonce it carries.
"""

import secrets

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "safqa.surveys.link"


class BadToken(Exception):
    """The token was not made by Safqa (forged, altered or cut short)."""


class ExpiredToken(Exception):
    """The token was made by Safqa but is older than the links' lifetime."""


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def make_token(survey) -> str:
    return signing.dumps({"s": survey.pk, "n": survey.nonce}, salt=SALT, compress=True)


def read_token(token: str) -> tuple[int, str]:
    """The survey id and nonce a token carries; BadToken or ExpiredToken otherwise."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.SURVEY_LINK_DAYS * 86400)
    except signing.SignatureExpired:
        raise ExpiredToken() from None
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        raise BadToken() from None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int) or not isinstance(data.get("n"), str):
        raise BadToken()
    return data["s"], data["n"]


def survey_path(survey) -> str:
    return reverse("surveys:answer", args=[make_token(survey)])


def survey_url(survey) -> str:
    return settings.SITE_URL + survey_path(survey)
