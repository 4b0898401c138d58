"""Test settings: PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set (CI), SQLite otherwise."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-not-secret")
# Public, for tests only (tests that rotate keys override ENCRYPTION_KEYS).
os.environ.setdefault("FOREWARN_ENCRYPTION_KEYS", "dGVzdC1vbmx5LW5vdC1zZWNyZXQtZW5jcnlwdC1rZXk=")

# Public, for tests only (the production settings' check inherits it).
os.environ.setdefault("AUDIT_HMAC_KEY", "test-only-audit-hmac-key-not-secret-000000000")

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, REST_FRAMEWORK, VAR_DIR, env

# Test processes (a Celery worker, the scheduler) share the test database, so SQLite must be a
# file, not memory. FOREWARN_TEST_DB_NAME lets such a process point at the test database.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {
        "NAME": env.str("FOREWARN_TEST_SQLITE", default=str(BASE_DIR / ".test-db.sqlite3"))
    }
else:
    # No persistent connections in tests: a live-server thread's idle connection would keep
    # the test database from being dropped at the end of the run.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if env.str("FOREWARN_TEST_DB_NAME", default=""):
    DATABASES["default"]["NAME"] = env.str("FOREWARN_TEST_DB_NAME")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Every test client is 127.0.0.1: no rate limits unless a test sets a rate, and counters in this
# process's memory, which a test may clear (clearing a Redis cache would flush the broker's db).
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]),
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Static files come straight from static/ (no collectstatic run needed).
STATIC_ROOT = None  # type: ignore[assignment]
WHITENOISE_USE_FINDERS = True

# Webhooks: plain http to a receiver on loopback (the tests run a real one).
WEBHOOK_ALLOW_HTTP = True
WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]

# The site's OpenPGP signing key is created here on first use (production must be given one).
OPENPGP_SIGNING_KEY_FILE = env.str(
    "OPENPGP_SIGNING_KEY_FILE", default=str(VAR_DIR / "openpgp-site-key.asc")
)
OPENPGP_SIGNING_KEY_GENERATE = True
