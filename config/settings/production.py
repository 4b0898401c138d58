"""Production: PostgreSQL and Redis are required; secrets come from the environment."""

from .base import *  # noqa: F403
from .base import env

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CELERY_BROKER_URL = env.str("REDIS_URL")
# The audit chain's HMAC key (README: Audit trail); at least 32 characters (disclosure.E111).
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY")
# Embargoed fields and attachments are encrypted with these (README: Encryption at rest).
ENCRYPTION_KEYS = env.list("FOREWARN_ENCRYPTION_KEYS")

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers probe the health endpoint over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Secure cookies with the __Host- prefix: the browser keeps them only if they came over HTTPS
# for this exact host and path /, so no subdomain can set or shadow them.
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Adds "preload" to the header; being on browsers' preload lists is a separate, deliberate
# submission (hstspreload.org) that is hard to undo.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# Webhooks go out over https only, whatever the environment says.
WEBHOOK_ALLOW_HTTP = False
