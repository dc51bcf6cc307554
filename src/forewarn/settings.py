"""Forewarn's settings, read from the environment with safe defaults for one machine.

Every knob is a ``FOREWARN_*`` environment variable (README, "Configuration"). With none set, Forewarn
runs on an embedded SQLite database under ``var/`` with a secret key generated once and kept there.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from forewarn.channels.registry import providers_from_env

PACKAGE_DIR = Path(__file__).resolve().parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(f"FOREWARN_{name}", default)


def imap_settings(url: str) -> dict[str, object] | None:
    """``imaps://user:password@host:993/INBOX?done=Forewarn&interval=60`` as FOREWARN_IMAP's dict."""
    if not url:
        return None
    from urllib.parse import parse_qs, unquote, urlsplit  # noqa: PLC0415 - only when a database URL is parsed

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    secure = parts.scheme == "imaps"
    return {
        "host": parts.hostname or "",
        "port": parts.port or (993 if secure else 143),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "folder": unquote(parts.path.lstrip("/")) or "INBOX",
        "done_folder": query.get("done", [""])[0],
        "interval": int(query.get("interval", ["60"])[0]),
        "ssl": secure,
    }


def env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(f"FOREWARN_{name}")
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(f"FOREWARN_{name}")
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def public_url(environ: Mapping[str, str]) -> str:
    """The address customers reach this installation at: the portal and unsubscribe links in messages
    point here. FOREWARN_PUBLIC_URL when it is set (a real installation, behind its proxy); otherwise the
    address ``forewarn serve`` listens on, which it passes to its processes as FOREWARN_HOST and
    FOREWARN_PORT, so ``make run PORT=8101`` writes links to port 8101."""
    configured = environ.get("FOREWARN_PUBLIC_URL", "").strip()
    if configured:
        return configured.rstrip("/")
    host = environ.get("FOREWARN_HOST", "").strip() or "127.0.0.1"
    if host in {"0.0.0.0", "::"}:  # noqa: S104 - comparing, not binding: every address means this machine
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = environ.get("FOREWARN_PORT", "").strip() or "8000"
    return f"http://{host}:{port}"


DATA_DIR = Path(env_str("DATA_DIR", str(Path.cwd() / "var"))).resolve()


def _secret_key() -> str:
    """The configured key, else one generated on first start and kept in the data directory."""
    configured = os.environ.get("FOREWARN_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()

# Keys that encrypt personal values found in text (AES-256-GCM): FOREWARN_PII_KEYS is a comma-separated
# list of ``id:base64-key``; the first encrypts, every one decrypts. Without it the keys live in
# ``var/pii_keys`` (generated on first use, one ``id base64-key`` per line, newest first); ``forewarn
# privacy new-key`` and ``forewarn privacy reencrypt`` rotate them (README, "Personal data").
FOREWARN_PII_KEYS = env_str("PII_KEYS", "")
FOREWARN_PII_KEY_FILE = DATA_DIR / "pii_keys"

# Inbound email: the largest message the SMTP receiver takes, and the attachments kept from one (each,
# and all together); larger attachments are listed on the ticket as refused, not stored.
# Behind a proxy Forewarn trusts, the client's address is the first of X-Forwarded-For (rate limits).
FOREWARN_TRUST_PROXY = env_bool("TRUST_PROXY", default=False)
# IMAP polling of a support mailbox (channels/imap.py), instead of or beside the SMTP receiver:
# FOREWARN_IMAP_URL=imaps://user:password@imap.example.com:993/INBOX?done=Forewarn&interval=60
FOREWARN_IMAP = imap_settings(env_str("IMAP_URL", ""))
FOREWARN_SMTP_MAX_BYTES = int(env_str("SMTP_MAX_BYTES", str(35 * 1024 * 1024)))
FOREWARN_ATTACHMENT_MAX_BYTES = int(env_str("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
FOREWARN_MESSAGE_ATTACHMENTS_MAX_BYTES = int(env_str("MESSAGE_ATTACHMENTS_MAX_BYTES", str(25 * 1024 * 1024)))
DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves its Swagger UI from local static files, not a CDN
    "django_tasks",
    "django_tasks_db",
    "axes",
    "forewarn.core",
    "forewarn.accounts",
    "forewarn.privacy",
    "forewarn.customers",
    "forewarn.channels",
    "forewarn.engage",
    "forewarn.inbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "forewarn.core.middleware.ViewerTimezoneMiddleware",
    "forewarn.core.middleware.ApiMethodNotAllowedMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into a clear answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "forewarn.urls"
WSGI_APPLICATION = "forewarn.wsgi.application"
ASGI_APPLICATION = "forewarn.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "forewarn.shell.context_processors.navigation",
            ],
        },
    },
]

# Database: FOREWARN_DATABASE_URL (postgres://user@host:5432/name) or the embedded SQLite file.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'forewarn.sqlite3'}")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers run beside the one writer; IMMEDIATE transactions take the write lock up front,
    # so a web request and a worker queue for it instead of failing with "database is locked".
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            " PRAGMA busy_timeout=30000; PRAGMA cache_size=-64000;"
        ),
    }
_db["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "")} if env_str("TEST_DATABASE_NAME", "") else {}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Each role starts on its own work (shell.views.home): agents on their inbox, marketers on triggers.
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock-out after repeated failed logins: per user name and address, for a cool-off period.
AXES_FAILURE_LIMIT = int(env_str("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env_str("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = env_str("LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("uk", _("Ukrainian")), ("ru", _("Russian"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# English dates as people outside the US read them (23 Nov 2026, 14:05) and weeks from Monday; Ukrainian
# and Russian keep Django's own formats.
FORMAT_MODULE_PATH = ["forewarn.core.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("TIME_ZONE", "Europe/Kyiv")

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Background jobs live in the same database as the data: a job commits with the change that causes it.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "imports", "broadcasts", "events"],
    }
}

# Which provider sends on each channel (README, "Channels"); a channel with none configured is recorded
# by the local provider instead of sent. FOREWARN_PROVIDERS_JSON may name any provider per channel.
FOREWARN_PROVIDERS = providers_from_env()
FOREWARN_PROVIDERS.update(json.loads(env_str("PROVIDERS_JSON", "{}")))

# The address customers reach this installation at (public_url).
FOREWARN_PUBLIC_URL = public_url(os.environ)
# How long a sender holds the messages it claimed; a sender that dies gives them up after this.
FOREWARN_OUTBOX_LEASE_SECONDS = int(env_str("OUTBOX_LEASE_SECONDS", "60"))

# The region assumed for phone numbers written without a country code.
DEFAULT_PHONE_REGION = env_str("DEFAULT_PHONE_REGION", "UA")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # httpx logs each request's URL at INFO, and a Telegram bot's URL holds its token.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
