"""DRF authentication with personal API tokens (`Authorization: Bearer <token>`)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from accounts.tokens import api_token_check


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1", errors="replace").split()
        if not header or header[0].lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as: Authorization: Bearer <token>."))
        record = api_token_check(header[1])
        if record is None:
            raise exceptions.AuthenticationFailed(_("This API token is not valid or has been revoked."))
        return record.user, record

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) with WWW-Authenticate for a missing or bad token.
        return self.keyword
