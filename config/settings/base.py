"""Settings shared by every environment; values that differ come from the environment."""

from contextlib import suppress
from datetime import timedelta
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("FOREWARN_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
# Runtime files of the embedded default and the scheduler's state live here.
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env.str("SECRET_KEY")
# Former keys, still accepted after SECRET_KEY is rotated: what they signed (sessions, links)
# and recovery codes made under them (accounts.recovery_codes) keep working while listed.
# Retired keys, comma-separated, newest first; spaces around commas are not part of a key.
SECRET_KEY_FALLBACKS = [
    k.strip() for k in env.list("SECRET_KEY_FALLBACKS", default=[]) if k.strip()
]
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base for links in emails and webhooks.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_countries",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "axes",
    "accounts",
    "disclosure",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, so static files keep their own caching (config.middleware).
    "config.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Refuses a flood of form posts (RATE_LIMITED_POSTS) before CSRF, axes or the view run.
    "config.middleware.FormRateLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # NUL characters in the URL, oversized bodies, malformed JSON, content types no view takes:
    # a 4xx that says why, before any view runs (config.bad_input).
    "config.bad_input.BadInputMiddleware",
    # Idle and absolute session timeouts, then the MFA gate (accounts.middleware).
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.MFAMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-axes wants to be last: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "disclosure.context_processors.inbox",
            ],
        },
    },
]

# --- Database: PostgreSQL when DATABASE_URL is set, else SQLite under var/ (embedded default).
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(VAR_DIR / "db.sqlite3")),
            "OPTIONS": {
                # Web, worker and scheduler share the file: wait for locks instead of failing,
                # and take the write lock at BEGIN so a read-then-write cannot deadlock.
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses a locked-out (email, IP) before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Authentication (accounts.mfa, accounts.middleware, accounts.sessions).
# Login lockout (django-axes): after AXES_FAILURE_LIMIT failures for one email address from one
# IP address, that pair is locked for AXES_COOLOFF_TIME; a success resets the count.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_USERNAME_CALLABLE = "accounts.signals.axes_username"
AXES_VERBOSE = False
# Sessions: logged out after this long without a request (sliding), and this long after login
# whatever happens.
SESSION_IDLE_TIMEOUT_SECONDS = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT_SECONDS = env.int("SESSION_ABSOLUTE_TIMEOUT_SECONDS", default=12 * 3600)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT_SECONDS
# Sensitive changes (MFA devices, OpenPGP key, webhooks, memberships) need a password or a
# fresh one-time code within this many seconds.
REAUTH_MAX_AGE_SECONDS = env.int("REAUTH_MAX_AGE_SECONDS", default=600)
# TOTP (django-otp): the issuer shown in authenticator apps; a failed code doubles the wait
# before the next try (1 s, 2 s, 4 s ...).
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Forewarn")
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# Security keys (WebAuthn, django-otp-webauthn; accounts.webauthn). A key answers only for its
# relying party: the RP ID is the site's host name (from SITE_URL; a loopback IP address, which
# cannot be an RP ID, becomes "localhost"), and the browser's origin must be one of
# WEBAUTHN_ALLOWED_ORIGINS (https, or http://localhost). Changing the RP ID strands every key.
_site = urlsplit(SITE_URL)
_site_host = _site.hostname or "localhost"
with suppress(ValueError):
    if ip_address(_site_host).is_loopback:
        _site_host = "localhost"
OTP_WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default=_site_host)
OTP_WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default="Forewarn")
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list(
    "WEBAUTHN_ALLOWED_ORIGINS",
    default=[f"{_site.scheme}://{_site_host}{f':{_site.port}' if _site.port else ''}"],
)
# A key is a second factor after the password, never a way in alone.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_HELPER_CLASS = "accounts.webauthn.Helper"
# API tokens expire after this many days unless given another expiry (at most the maximum).
TOKEN_DEFAULT_TTL_DAYS = env.int("TOKEN_DEFAULT_TTL_DAYS", default=90)
TOKEN_MAX_TTL_DAYS = env.int("TOKEN_MAX_TTL_DAYS", default=365)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Mail: SMTP, configured by EMAIL_URL (smtp://user:pass@host:port, smtp+tls://...,
# consolemail://). The default is the loopback mail sink that the demo starts.
_email = env.email_url("EMAIL_URL", default="smtp://127.0.0.1:1025")
_mailer_options: dict[str, object] = {}
if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
    _mailer_options = {
        "host": _email["EMAIL_HOST"],
        "port": _email["EMAIL_PORT"],
        "username": _email["EMAIL_HOST_USER"] or None,
        "password": _email["EMAIL_HOST_PASSWORD"] or None,
        "use_tls": bool(_email.get("EMAIL_USE_TLS")),
        "use_ssl": bool(_email.get("EMAIL_USE_SSL")),
        "timeout": 10,
    }
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": _mailer_options}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Forewarn <forewarn@localhost>")
# Encrypted email is signed with the site's OpenPGP key: an ASCII-armored secret key file.
# Production must name one (`manage.py openpgp_site_key` creates it); local and test settings
# create it under FOREWARN_VAR_DIR on first use (OPENPGP_SIGNING_KEY_GENERATE).
OPENPGP_SIGNING_KEY_FILE = env.str("OPENPGP_SIGNING_KEY_FILE", default="")
OPENPGP_SIGNING_KEY_PASSPHRASE = env.str("OPENPGP_SIGNING_KEY_PASSPHRASE", default="")
OPENPGP_SIGNING_KEY_GENERATE = False

# --- Celery: Redis when REDIS_URL is set, else kombu's filesystem transport (no server needed).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves its message for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Cache (rate-limit counters): Redis when REDIS_URL is set, so every process counts together;
# else files under var/, which the web processes of one machine share.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "forewarn",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# The due times live in the database; these sweeps catch whatever a lost message missed.
RELEASE_SWEEP_SECONDS = env.float("RELEASE_SWEEP_SECONDS", default=5.0)
DELIVERY_SWEEP_SECONDS = env.float("DELIVERY_SWEEP_SECONDS", default=15.0)
# Release stages (services.stages): a stage due within the horizon gets a precise trigger (a
# task with an ETA) when it is scheduled; every STAGE_ARM_SECONDS the stages due within
# STAGE_ARM_AHEAD_SECONDS get one again, in case a message was lost.
STAGE_TRIGGER_HORIZON_SECONDS = env.float("STAGE_TRIGGER_HORIZON_SECONDS", default=3600.0)
STAGE_ARM_SECONDS = env.float("STAGE_ARM_SECONDS", default=60.0)
STAGE_ARM_AHEAD_SECONDS = env.float("STAGE_ARM_AHEAD_SECONDS", default=70.0)
CELERY_BEAT_SCHEDULE = {
    # Every due release stage, and findings whose embargo end is due (those without a plan).
    "fire-due-stages": {
        "task": "disclosure.tasks.fire_due_stages",
        "schedule": RELEASE_SWEEP_SECONDS,
    },
    "arm-stage-triggers": {
        "task": "disclosure.tasks.arm_stage_triggers",
        "schedule": STAGE_ARM_SECONDS,
    },
    "send-pending-deliveries": {
        "task": "disclosure.tasks.send_pending_deliveries",
        "schedule": DELIVERY_SWEEP_SECONDS,
    },
    # Files whose upload transaction rolled back after the file was written.
    "delete-orphan-attachments": {
        "task": "disclosure.tasks.delete_orphan_attachments",
        "schedule": 3600.0,
    },
    # Reminders to notified organizations that have not acknowledged (READINESS_REMINDER_HOURS).
    "send-readiness-reminders": {
        "task": "disclosure.tasks.send_readiness_reminders",
        "schedule": env.float("READINESS_REMINDER_SWEEP_SECONDS", default=300.0),
    },
    # Audit entries whose writer died before sealing them (normally sealed after each commit).
    "seal-audit-chain": {
        "task": "disclosure.tasks.seal_audit_chain",
        "schedule": env.float("AUDIT_SEAL_SWEEP_SECONDS", default=60.0),
    },
    # The whole chain checked, as `manage.py audit_verify` does; a failure is logged and shown
    # on the coordinators' audit page.
    "verify-audit-chain": {
        "task": "disclosure.tasks.verify_audit_chain",
        "schedule": env.float("AUDIT_VERIFY_SECONDS", default=86400.0),
    },
}

# --- Disclosure policy.
EMBARGO_MAX_DAYS = env.int("EMBARGO_MAX_DAYS", default=365)
# The longest embargo each risk level calls for, in days from its start (services.embargo);
# longer only with a coordinator's written reason. 0: no embargo is needed, so any embargo is
# over the maximum. Override some or all: EMBARGO_POLICY_MAX_DAYS=medium=21,critical=120.
EMBARGO_POLICY_MAX_DAYS = {
    "low": 0,
    "medium": 14,
    "high": 45,
    "critical": 90,
    **{
        level.strip(): int(days)
        for level, _, days in (
            item.partition("=") for item in env.list("EMBARGO_POLICY_MAX_DAYS", default=[])
        )
    },
}
# --- Publication: the publisher named in CSAF documents and the provider metadata (its
# namespace is SITE_URL); contact details are optional (e.g. "mailto:psirt@example.org").
CSAF_PUBLISHER_NAME = env.str("CSAF_PUBLISHER_NAME", default="Forewarn")
CSAF_PUBLISHER_CONTACT = env.str("CSAF_PUBLISHER_CONTACT", default="")
# --- Delivery outbox (services.notify). A worker claims due rows in batches and holds them for
# the lease, renewed every third of it while the batch is being sent; a dead worker's rows are
# claimed again once it runs out.
DELIVERY_LEASE_SECONDS = env.int("DELIVERY_LEASE_SECONDS", default=30)
DELIVERY_BATCH_SIZE = env.int("DELIVERY_BATCH_SIZE", default=200)
# Dispatcher tasks queued after a commit (each loops over batches), and how long one loops.
DELIVERY_DISPATCH_TASKS = env.int("DELIVERY_DISPATCH_TASKS", default=4)
DELIVERY_DISPATCH_SECONDS = env.float("DELIVERY_DISPATCH_SECONDS", default=60.0)
# Delay before each attempt, the first immediate: the Standard Webhooks example schedule,
# 10 attempts over about 3 days (then FAILED). Each delay is jittered by +/- the fraction below.
DELIVERY_RETRY_SCHEDULE_SECONDS = env.list(
    "DELIVERY_RETRY_SCHEDULE_SECONDS",
    cast=float,
    default=[0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400],
)
DELIVERY_RETRY_JITTER = env.float("DELIVERY_RETRY_JITTER", default=0.15)
# A receiver's Retry-After is honoured when longer than the schedule's delay, up to this.
DELIVERY_RETRY_AFTER_MAX_SECONDS = env.int("DELIVERY_RETRY_AFTER_MAX_SECONDS", default=86400)
# Hours after notification at which an organization that has not acknowledged is reminded
# (once per threshold) and flagged to the coordinators.
READINESS_REMINDER_HOURS = env.list("READINESS_REMINDER_HOURS", cast=float, default=[24, 72])
# --- Defender registry: an emailed invitation link works once, for this long.
INVITATION_MAX_AGE_HOURS = env.int("INVITATION_MAX_AGE_HOURS", default=72)
# --- Webhooks (Standard Webhooks). Only https, and no private, loopback, link-local or
# metadata addresses unless WEBHOOK_ALLOWED_NETWORKS (CIDRs) lets a network through.
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=False)
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
WEBHOOK_CA_BUNDLE = env.str("WEBHOOK_CA_BUNDLE", default="") or None  # None: the system's CAs
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)  # connect, read
WEBHOOK_DEADLINE_SECONDS = env.float("WEBHOOK_DEADLINE_SECONDS", default=20.0)  # whole request
WEBHOOK_MAX_RESPONSE_BYTES = env.int("WEBHOOK_MAX_RESPONSE_BYTES", default=64 * 1024)
WEBHOOK_SECRET_OVERLAP_HOURS = env.int("WEBHOOK_SECRET_OVERLAP_HOURS", default=24)
WEBHOOK_CONCURRENCY = env.int("WEBHOOK_CONCURRENCY", default=16)  # threads per batch
WEBHOOK_CONCURRENCY_PER_ENDPOINT = env.int("WEBHOOK_CONCURRENCY_PER_ENDPOINT", default=4)

# --- API.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "disclosure.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONObjectParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Rate limits (config.throttling): a 429 with Retry-After past them. "N/s|min|hour|day".
    "DEFAULT_THROTTLE_CLASSES": [
        "config.throttling.AnonymousThrottle",
        "config.throttling.UserThrottle",
        "config.throttling.TokenThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_RATE_ANON", default="60/min"),
        "user": env.str("THROTTLE_RATE_USER", default="600/min"),
        "token": env.str("THROTTLE_RATE_TOKEN", default="300/min"),
        "login": env.str("THROTTLE_RATE_LOGIN", default="10/min"),
        "mfa": env.str("THROTTLE_RATE_MFA", default="20/min"),
        "public_form": env.str("THROTTLE_RATE_PUBLIC_FORM", default="10/hour"),
    },
    # Proxies in front of the app that append to X-Forwarded-For: 0 trusts REMOTE_ADDR only.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
# POSTs limited per client IP, by view name -> throttle scope (config.middleware).
RATE_LIMITED_POSTS = {
    "login": "login",
    "admin:login": "login",
    # The second step (codes and security keys), re-authentication and adding a key.
    "mfa-verify": "mfa",
    "mfa-verify-key": "mfa",
    "reauthenticate": "mfa",
    "reauthenticate-key": "mfa",
    "mfa-key-add": "mfa",
    "apply": "public_form",
    "api:applications": "public_form",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Forewarn API",
    "DESCRIPTION": "Coordinated disclosure of dangerous AI capabilities.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge from the public validator: the CSP lets Swagger UI load only our own files.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # The error answers every operation can give (400, 401, 403, 404, 429), declared.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api_schema.document_error_responses",
    ],
    # Choice sets used by several fields, named once.
    "ENUM_NAME_OVERRIDES": {
        "RiskLevelEnum": "disclosure.models.findings.Finding.RiskLevel",
        "CreditStatusEnum": "disclosure.models.credits.Credit.Status",
        "MitigationStatusEnum": "disclosure.models.evidence.Mitigation.Status",
        "CategoryKindEnum": "disclosure.models.taxonomy.CapabilityCategory.Kind",
        "OrganizationKindEnum": "accounts.models.Organization.Kind",
        "OrganizationStatusEnum": "accounts.models.Organization.Status",
        "MembershipRoleEnum": "accounts.models.Membership.Role",
        "ContactRoleEnum": "accounts.models.Membership.ContactRole",
        "ContentFieldEnum": "disclosure.services.revisions.CONTENT_FIELDS",
        "DeliveryStateEnum": "disclosure.models.delivery.Delivery.State",
        "FindingStateEnum": "disclosure.models.findings.Finding.State",
    },
}

SESSION_COOKIE_HTTPONLY = True
# Lax: a link from a notification email opens the finding signed in. The CSRF cookie is only
# needed by our own forms, so it is never sent cross-site.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content Security Policy (Django's): our pages load only our own files and run no inline
# script or style. The nonce appears in the header only on a page that uses one (the admin's
# templates do); ours never do (tests/hardening/test_csp.py).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
# Browser features no page of ours uses (config.middleware.SecurityHeadersMiddleware).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Audit chain (disclosure.audit_hash, services.audit_chain): every audit entry is tagged
# and then sealed into a hash chain with this HMAC key. Not SECRET_KEY: someone with only the
# database can then neither forge an entry nor recompute the chain. Required in production;
# local and test settings set fixed, public, development-only keys.
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY", default="")
# Retired audit keys, newest first, after AUDIT_HMAC_KEY is rotated: they only verify seals
# made before (the sealer never chains a row tagged with one). Keep each as long as the entries
# it sealed are kept.
AUDIT_HMAC_KEY_FALLBACKS = [
    k.strip() for k in env.list("AUDIT_HMAC_KEY_FALLBACKS", default=[]) if k.strip()
]
# An entry not sealed this long after it was written is reported by `manage.py audit_verify`.
AUDIT_SEAL_GRACE_SECONDS = env.int("AUDIT_SEAL_GRACE_SECONDS", default=300)

# --- Attachments: stored outside the web root and served only through an access-checked view.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=25 * 1024 * 1024)

# --- Encryption at rest (disclosure.encryption): embargoed fields and attachment files are
# encrypted with these Fernet keys, newest first. The newest encrypts, every one decrypts;
# `manage.py encryption_rotate` re-encrypts everything under the newest, after which the older
# ones can go. Separate from SECRET_KEY, so that rotating that never loses data. Required in
# production; local and test settings set fixed, public, development-only keys.
ENCRYPTION_KEYS = env.list("FOREWARN_ENCRYPTION_KEYS", default=[])
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
