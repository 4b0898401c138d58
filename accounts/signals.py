"""Login events: stamp and index the session, and audit every login, failure and lockout."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from disclosure.services.audit import audit_record

from .mfa import reauth_mark
from .sessions import client_ip, session_ended, session_started

LOGIN_AUDIT = "accounts.login_audit"  # its dispatch_uid (tests' force_login skips the audit)


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The address django-axes counts failures for: as the login form matches it (lower case)."""
    value = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(value).strip().lower()[:254]


@receiver(user_logged_in, dispatch_uid="accounts.logged_in")
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    session_started(request, user)
    reauth_mark(request)  # the password was just given


@receiver(user_logged_in, dispatch_uid=LOGIN_AUDIT)
def login_audit(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    ip = client_ip(request) if request is not None else None
    audit_record(actor=user, action="auth.login", data={"ip": ip})


@receiver(user_logged_out, dispatch_uid="accounts.logged_out")
def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    session_ended(request)
    if user is None:
        return
    data = {"ip": client_ip(request) if request is not None else None}
    timed_out = getattr(request, "session_timed_out", None)
    if timed_out:
        audit_record(actor=user, action="auth.session_expired", data={**data, "reason": timed_out})
    else:
        audit_record(actor=user, action="auth.logout", data=data)


@receiver(user_login_failed, dispatch_uid="accounts.login_failed")
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    email = str(credentials.get("username", ""))[:254]
    ip = client_ip(request) if request is not None else None
    audit_record(actor=None, action="auth.login_failed", data={"email": email, "ip": ip})


@receiver(user_locked_out, dispatch_uid="accounts.locked_out")
def _locked_out(
    sender: Any, request: HttpRequest, username: str, ip_address: str, **kwargs: Any
) -> None:
    audit_record(actor=None, action="auth.locked_out", data={"email": username, "ip": ip_address})
