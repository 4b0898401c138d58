"""DRF authentication with ``Authorization: Bearer <token>``.

``request.auth`` is the ApiToken. A token without the write scope is refused (403) on any
unsafe method here, before any view or permission runs, so no endpoint can forget the check.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from .models import ApiToken
from .tokens import TokenRefused, api_token_check

WRITE_SCOPE_MISSING = "The token lacks the write scope."


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        try:
            raw = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Token contains invalid characters.") from exc
        try:
            token = api_token_check(raw)
        except TokenRefused as exc:
            raise exceptions.AuthenticationFailed(exc.detail) from exc
        if request.method not in SAFE_METHODS and not token.has_scope(ApiToken.Scope.WRITE):
            raise exceptions.PermissionDenied(WRITE_SCOPE_MISSING)
        return (token.user, token)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}
