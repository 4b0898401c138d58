"""The embedded default: SQLite and a filesystem broker unless DATABASE_URL/REDIS_URL are set."""

import os

os.environ.setdefault("SECRET_KEY", "local-dev-only-not-secret")
os.environ.setdefault("DJANGO_DEBUG", "true")
# Public, for development only: anyone can decrypt what it encrypted.
os.environ.setdefault("FOREWARN_ENCRYPTION_KEYS", "bG9jYWwtZGV2LW9ubHktbm90LXNlY3JldC1rZXktMDA=")

# Public, for development only: anyone could recompute an audit chain sealed with it.
os.environ.setdefault("AUDIT_HMAC_KEY", "local-dev-only-audit-hmac-key-not-secret-0000")

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, VAR_DIR, env

REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
    "rest_framework.renderers.JSONRenderer",
    "rest_framework.renderers.BrowsableAPIRenderer",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Static files come straight from static/ (no collectstatic run needed).
STATIC_ROOT = None  # type: ignore[assignment]
WHITENOISE_USE_FINDERS = True

# Webhooks: plain http, and receivers on this machine, for trying them out.
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=True)
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])

# The site's OpenPGP signing key is created here on first use (production must be given one).
OPENPGP_SIGNING_KEY_FILE = env.str(
    "OPENPGP_SIGNING_KEY_FILE", default=str(VAR_DIR / "openpgp-site-key.asc")
)
OPENPGP_SIGNING_KEY_GENERATE = True
