"""Pownce settings, read from the environment.

With nothing set, Pownce runs in its embedded default: SQLite, a local-memory cache and
database-backed sessions, DEBUG on — one process, nothing else to start. Every variable below
is documented in README.md ("Configuration"). Production sets at least POWNCE_DEBUG=0,
POWNCE_SECRET_KEY, POWNCE_ALLOWED_HOSTS, POWNCE_DB_PRIMARY, POWNCE_MEMCACHED and POWNCE_REDIS_URL.
"""

from __future__ import annotations

import os
from ipaddress import ip_network
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("POWNCE_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_float(name: str, default: float) -> float:
    raw = env_str(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def database_from_url(url: str, *, read_timeout: float) -> dict:
    """Turn ``mysql://user:password@host:port/name`` into a Django DATABASES entry.

    Every wait on the server has a deadline: a hung server (a disk stall, a paused VM) must
    fail a query within seconds, like a dead one, instead of holding an app server's worker.
    mysqlclient's timeouts are whole seconds; 0 turns the read/write timeouts off (for a long
    migration or a bulk load run by hand)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb"):
        raise ImproperlyConfigured(f"unsupported database URL scheme {parts.scheme!r} in {url!r}")
    return {
        # Django's MySQL backend, plus: a hung server fails once, a failing replica leaves rotation.
        "ENGINE": "pownce.db_backend",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 3306),
        "CONN_MAX_AGE": env_float("POWNCE_DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "charset": "utf8mb4",
            "connect_timeout": max(1, round(env_float("POWNCE_DB_CONNECT_TIMEOUT", 2))),
            "init_command": "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
        }
        | _io_timeouts(read_timeout),
    }


def _io_timeouts(seconds: float) -> dict:
    whole = round(seconds)
    return {"read_timeout": whole, "write_timeout": whole} if whole > 0 else {}


# The embedded default (`make run`) is a development setup: DEBUG on, a fixed key, any host.
# gunicorn refuses to serve either (deploy/gunicorn.conf.py, pownce/serving.py).
DEBUG = env_bool("POWNCE_DEBUG", True)
DEVELOPMENT_SECRET_KEY = "embedded-default-insecure-key-for-local-development-only-0123456789"

SECRET_KEY = env_str("POWNCE_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("POWNCE_SECRET_KEY must be set when POWNCE_DEBUG is off")
    SECRET_KEY = DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env_list("POWNCE_ALLOWED_HOSTS", "127.0.0.1,localhost" if not DEBUG else "*")

# The name this app server puts in the X-Pownce-Server response header, so an operator (and
# the load-balancing tests) can tell which server answered.
SERVER_NAME = env_str("POWNCE_SERVER_NAME") or os.uname().nodename

# `make bench` only (deploy/bench.py): the /bench/ views (hello, authenticated hello, the
# plain-ORM home stream) and the X-Pownce-SQL / X-Pownce-Cache-Calls cost headers. Off unless
# POWNCE_BENCH_VIEWS=1, so production never exposes them.
BENCH_VIEWS = env_bool("POWNCE_BENCH_VIEWS", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "pownce",
    "accounts",
    "notes",
    "demo",
    "oauth2_provider",
    "corsheaders",
    "pownce.api",
]

MIDDLEWARE = [
    # First: its request latency covers every other middleware (pownce/metrics.py).
    "pownce.metrics.MetricsMiddleware",
    "pownce.middleware.ServerNameMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "pownce.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "pownce.middleware.ReadYourWritesMiddleware",
    "pownce.middleware.ReplicaFailoverMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Before CommonMiddleware, so its redirects carry the CORS headers too (pownce/api/http.py).
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, which is the first to read a POST body (pownce/uploads.py).
    "pownce.uploads.BodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Right after it: the viewer's time zone, once the viewer is loaded (accounts/timezones.py).
    "accounts.middleware.ViewerTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if BENCH_VIEWS:
    # Outermost, so the cost headers count everything the request did (session, user, view).
    MIDDLEWARE.insert(0, "demo.bench.CostHeadersMiddleware")

ROOT_URLCONF = "pownce.urls"
WSGI_APPLICATION = "pownce.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notes.context_processors.notifications",
            ],
        },
    },
]

# --- Databases -------------------------------------------------------------------------------
# POWNCE_DB_PRIMARY is one URL; POWNCE_DB_REPLICAS a comma-separated list of URLs. Replica
# aliases are "replica1", "replica2", … in the order given. Without a primary URL the embedded
# SQLite database is used and there are no replicas.
_primary_url = env_str("POWNCE_DB_PRIMARY")
# The primary's read/write timeout is longer than a replica's: a write that times out leaves
# its outcome unknown (see the note form's idempotency key), while a replica's read is simply
# retried on the primary.
DB_READ_TIMEOUT = env_float("POWNCE_DB_READ_TIMEOUT", 5)
REPLICA_READ_TIMEOUT = env_float("POWNCE_REPLICA_READ_TIMEOUT", 2)
if _primary_url:
    DATABASES = {"default": database_from_url(_primary_url, read_timeout=DB_READ_TIMEOUT)}
    for _index, _url in enumerate(env_list("POWNCE_DB_REPLICAS"), start=1):
        _replica = database_from_url(_url, read_timeout=REPLICA_READ_TIMEOUT)
        # Under test, read the test database *through the real replica*: Django only swaps the
        # NAME, so the connection still goes to the replica server and sees replicated rows.
        _replica["TEST"] = {"MIRROR": "default"}
        DATABASES[f"replica{_index}"] = _replica
else:
    _sqlite_path = Path(env_str("POWNCE_SQLITE_PATH") or VAR_DIR / "pownce.sqlite3")
    # A fresh checkout has no var/ yet, and SQLite will not create the folder of its file.
    _sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(_sqlite_path)}}

# The inbox (notes.Delivery) on clusters of its own (notes/partitioning.py). POWNCE_DB_INBOX_PRIMARY
# is a comma-separated list of primary URLs, one per physical inbox shard ("inbox1", "inbox2", …);
# POWNCE_DB_INBOX_REPLICAS the same number of entries, each the shard's replica URLs separated by
# "|" ("inbox1_replica1", …), or empty. Unset: the inbox stays on the main cluster, as one shard.
_inbox_primaries = env_list("POWNCE_DB_INBOX_PRIMARY")
_inbox_replicas = env_list("POWNCE_DB_INBOX_REPLICAS")
if _inbox_primaries and not _primary_url:
    raise ImproperlyConfigured("POWNCE_DB_INBOX_PRIMARY needs POWNCE_DB_PRIMARY (the main cluster) too")
if _inbox_replicas and len(_inbox_replicas) != len(_inbox_primaries):
    raise ImproperlyConfigured("POWNCE_DB_INBOX_REPLICAS needs one entry per POWNCE_DB_INBOX_PRIMARY URL")
# Each physical inbox shard: (its primary alias, its replica aliases). The main cluster when unset.
INBOX_CLUSTERS: list[tuple[str, list[str]]] = []
for _shard, _url in enumerate(_inbox_primaries, start=1):
    _alias = f"inbox{_shard}"
    DATABASES[_alias] = database_from_url(_url, read_timeout=DB_READ_TIMEOUT)
    _replicas = []
    for _index, _replica_url in enumerate(
        [u for u in (_inbox_replicas[_shard - 1] if _inbox_replicas else "").split("|") if u.strip()], start=1
    ):
        _replica = database_from_url(_replica_url.strip(), read_timeout=REPLICA_READ_TIMEOUT)
        _replica["TEST"] = {"MIRROR": _alias}
        DATABASES[f"{_alias}_replica{_index}"] = _replica
        _replicas.append(f"{_alias}_replica{_index}")
    INBOX_CLUSTERS.append((_alias, _replicas))
INBOX_PARTITIONED = bool(INBOX_CLUSTERS)
if not INBOX_PARTITIONED:
    INBOX_CLUSTERS = [("default", [alias for alias in DATABASES if alias != "default"])]
# Recipients map to this many logical shards (recipient id mod N); a small table in the main
# database maps each logical shard to a physical one. Fixed for the life of the data.
INBOX_LOGICAL_SHARDS = int(env_float("POWNCE_INBOX_LOGICAL_SHARDS", 256))
# How long a process trusts its copy of the logical -> physical map (notes/partitioning.py).
INBOX_MAP_TTL = env_float("POWNCE_INBOX_MAP_TTL", 1)

DATABASE_ROUTERS = ["pownce.router.PrimaryReplicaRouter"]
# The main cluster's replicas; INBOX_REPLICA_ALIASES are the inbox shards' replicas.
INBOX_ALIASES = (
    {alias for primary, replicas in INBOX_CLUSTERS for alias in (primary, *replicas)} if INBOX_PARTITIONED else set()
)
REPLICA_ALIASES = [alias for alias in DATABASES if alias != "default" and alias not in INBOX_ALIASES]
INBOX_REPLICA_ALIASES = [alias for _, replicas in INBOX_CLUSTERS for alias in replicas] if INBOX_PARTITIONED else []
INBOX_PRIMARY_ALIASES = [primary for primary, _ in INBOX_CLUSTERS] if INBOX_PARTITIONED else []

# After a user writes, their reads go to the primary for this long (read-your-writes).
PIN_SECONDS = env_float("POWNCE_PIN_SECONDS", 5)
# A replica lagging more than this many seconds is taken out of rotation.
REPLICA_MAX_LAG = env_float("POWNCE_REPLICA_MAX_LAG", 1)
# How long one process trusts its last look at a replica's health.
REPLICA_HEALTH_TTL = env_float("POWNCE_REPLICA_HEALTH_TTL", 2)
# After the primary fails at the connection level, each process fails fast and tries it again
# in the background every this many seconds (pownce/router.py, PrimaryBreaker).
PRIMARY_RETRY_AFTER = env_float("POWNCE_PRIMARY_RETRY_AFTER", 1)
# A process's first look at a replica is waited for this long at most (later looks run in the
# background while reads follow the previous one); until it answers, reads go to the primary.
REPLICA_FIRST_CHECK_WAIT = env_float("POWNCE_REPLICA_FIRST_CHECK_WAIT", 0.5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# App-made ids (pownce/ids.py): this host's generator node (0-127, one per host in the
# deployment's inventory), and how long a process waits for a clock that stepped back before it
# refuses to make ids.
ID_NODE = int(env_float("POWNCE_ID_NODE", 0))
ID_MAX_CLOCK_WAIT = env_float("POWNCE_ID_MAX_CLOCK_WAIT", 1)
AUTH_USER_MODEL = "accounts.User"
# The logged-in user comes from the object cache on every request (accounts/backends.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.CachedModelBackend"]

# --- Caches and sessions --------------------------------------------------------------------
MEMCACHED_SERVERS = env_list("POWNCE_MEMCACHED")
REDIS_URL = env_str("POWNCE_REDIS_URL")

# The object and ID-list cache layer (cache/) and Django's own cache share one backend: the
# memcached servers listed, or an in-process stand-in when none is. Defaults: cache/keys.py
# (imported here, inside the block it serves; it loads nothing of Django's apps).
from cache import keys as cache_keys  # noqa: E402

_tombstone_ttl = int(env_float("POWNCE_CACHE_TOMBSTONE_TTL", cache_keys.DEFAULT_TOMBSTONE_TTL))
_default_cache = {
    "BACKEND": "cache.backends.ClusterCache",
    "LOCATION": MEMCACHED_SERVERS,
    "OPTIONS": {
        "connect_timeout": env_float("POWNCE_MEMCACHED_CONNECT_TIMEOUT", 0.2),
        "timeout": env_float("POWNCE_MEMCACHED_TIMEOUT", 0.5),
        "retry_after": env_float("POWNCE_MEMCACHED_RETRY_AFTER", 1),
        "marker_ttl": _tombstone_ttl,  # a returning server is "recovering" as long as a tombstone lives
    }
    if MEMCACHED_SERVERS
    else {},
}
# See cache/protocol.py. The tombstone must outlive the worst replica lag the router accepts
# (REPLICA_MAX_LAG + REPLICA_HEALTH_TTL); a system check enforces it.
POWNCE_CACHE = {
    "TOMBSTONE_TTL": _tombstone_ttl,
    "TTL": int(env_float("POWNCE_CACHE_TTL", cache_keys.DEFAULT_TTL)),
    "LIST_CAP": int(env_float("POWNCE_CACHE_LIST_CAP", cache_keys.DEFAULT_LIST_CAP)),
    "VERSION": int(env_float("POWNCE_CACHE_VERSION", cache_keys.DEFAULT_VERSION)),
}
CACHES = {"default": _default_cache}
# After Redis fails, each process leaves it alone this long before trying again
# (pownce/redis_cache.py): a hung Redis costs a timeout per interval, not per request.
REDIS_RETRY_AFTER = env_float("POWNCE_REDIS_RETRY_AFTER", 2)
# Sessions live in the database and are cached in Redis for at most this long (pownce/sessions.py).
SESSION_CACHE_SECONDS = int(env_float("POWNCE_SESSION_CACHE_SECONDS", 3600))
if REDIS_URL:
    CACHES["redis"] = {
        "BACKEND": "pownce.redis_cache.GuardedRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
    SESSION_ENGINE = "pownce.sessions"
    SESSION_CACHE_ALIAS = "redis"
else:
    CACHES["redis"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "redis"}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Background tasks -----------------------------------------------------------------------
# With MySQL, tasks are rows in the primary's queue table (django_tasks_db) run by
# `manage.py task_worker`; the embedded default runs each task at once, inside the request.
TASKS = {
    "default": {
        "BACKEND": env_str("POWNCE_TASKS_BACKEND")
        or ("django_tasks_db.DatabaseBackend" if _primary_url else "django_tasks.backends.immediate.ImmediateBackend"),
    }
}
# The request delivers a note to its author and to at most FANOUT_INLINE_MAX recipients (one
# bounded read, one insert) and queues one plan task; the worker pages through the rest of the
# audience and queues batches of FANOUT_BATCH_SIZE (notes/delivery.py).
FANOUT_INLINE_MAX = int(env_float("POWNCE_FANOUT_INLINE_MAX", 200))
FANOUT_BATCH_SIZE = int(env_float("POWNCE_FANOUT_BATCH_SIZE", 1000))
# A task left running this long is taken to be abandoned by a worker that died and is queued
# again (tasks are idempotent, so running one twice is harmless).
TASK_ABANDONED_SECONDS = env_float("POWNCE_TASK_ABANDONED_SECONDS", 300)

# --- Measure --------------------------------------------------------------------------------
# /metrics (pownce/metrics.py) aggregates every gunicorn worker's counters when the environment
# sets PROMETHEUS_MULTIPROC_DIR (deploy/stack.sh does, per app server). The status page in the
# admin (pownce/admin_status.py) reads HAProxy's stats page here (its CSV is at <url>;csv).
HAPROXY_STATS_URL = env_str("POWNCE_HAPROXY_STATS_URL")
# Where `manage.py sample_status` serves its figures to Prometheus (ADDR:PORT; empty: nowhere).
STATUS_METRICS_BIND = env_str("POWNCE_STATUS_METRICS")

# --- Static and uploaded files --------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# The app servers serve the stylesheet, scripts and icons themselves (WhiteNoise), straight
# from the source tree and the apps: no collectstatic step (so no STATIC_ROOT), and no front
# server needed for them.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env_str("POWNCE_MEDIA_ROOT") or VAR_DIR / "media")
# Uploaded files are never served from a public path: a view checks the audience first.
MEDIA_URL = None
# Largest file a note may carry (POWNCE_MAX_UPLOAD_MB, 100 MB by default).
MAX_UPLOAD_BYTES = int(env_float("POWNCE_MAX_UPLOAD_MB", 100) * 1024 * 1024)
# Any other request body (a form without a file) may be this large (pownce/uploads.py).
MAX_FORM_BYTES = 1024 * 1024
# Uploads bigger than this are streamed to a temporary file instead of held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640
# How note files reach the browser after the audience check: "" streams them from the app
# server; "X-Accel-Redirect" (nginx, internal location FILE_SERVE_PREFIX mapped to MEDIA_ROOT)
# or "X-Sendfile" (Apache, lighttpd) let the front server send the bytes.
FILE_SERVE_HEADER = env_str("POWNCE_FILE_SERVE_HEADER")
if FILE_SERVE_HEADER not in ("", "X-Accel-Redirect", "X-Sendfile"):
    raise ImproperlyConfigured("POWNCE_FILE_SERVE_HEADER must be empty, X-Accel-Redirect or X-Sendfile")
FILE_SERVE_PREFIX = env_str("POWNCE_FILE_SERVE_PREFIX") or "/protected-media/"

# --- Security -------------------------------------------------------------------------------
# HAProxy terminates TLS in production and says so in X-Forwarded-Proto. POWNCE_HTTPS=0 is for
# the loopback stack, which has no certificate; production leaves it on.
HTTPS = env_bool("POWNCE_HTTPS", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
if HTTPS:
    SECURE_SSL_REDIRECT = True
    # /healthz and /readyz are asked over plain HTTP by the load balancer, /metrics by a local
    # scraper.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env_float("POWNCE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = env_list("POWNCE_CSRF_TRUSTED_ORIGINS")
# The proxies whose X-Forwarded-For is believed (pownce/clients.py): HAProxy and nginx reach
# gunicorn over loopback. Addresses or networks, comma-separated.
TRUSTED_PROXIES = env_list("POWNCE_TRUSTED_PROXIES", "127.0.0.1,::1")
for _proxy in TRUSTED_PROXIES:
    try:
        ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"POWNCE_TRUSTED_PROXIES: {_proxy!r} is not an address or a network") from None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


# --- The client API (pownce/api/) ----------------------------------------------------------
# OAuth 2 by django-oauth-toolkit: authorization code, with PKCE required of public clients (no
# secret) and optional for confidential ones, as Mastodon's clients expect. Apps are made by
# POST /api/v1/apps as authorization-code apps; the password grant is not offered.
def _pkce_required(client_id: str) -> bool:
    # Named as a string, as INSTALLED_APPS names apps: settings import no app.
    from django.utils.module_loading import import_string

    return import_string("pownce.api.oauth.pkce_required")(client_id)


# Jobs the task worker runs in the background besides tasks (pownce/management/commands/
# task_worker.py): name -> (dotted path of a function without arguments, every N seconds).
WORKER_PERIODIC_JOBS = {"unused-media": ("pownce.api.services.sweep_unused_media", 3600)}

OAUTH2_PROVIDER = {
    # Mastodon's scopes; "follow" and "push" are its legacy names, the granular ones narrow a
    # token as Mastodon's do (pownce/api/http.py, scope_allows).
    "SCOPES": {
        "read": "Read your notes, streams, friends and fans",
        "write": "Post notes, replies, stars and forwards, and change your friends",
        "follow": "Add and remove friends, block and unblock people",
        "push": "Receive push notifications (Pownce sends none yet)",
        "read:accounts": "Read people's profiles",
        "read:statuses": "Read notes and streams",
        "read:follows": "Read your friends and fans",
        "read:blocks": "Read whom you blocked",
        "read:favourites": "Read your stars",
        "read:notifications": "Read notifications",
        "read:search": "Search for people",
        "write:statuses": "Post and delete notes and replies, forward notes",
        "write:media": "Upload files",
        "write:favourites": "Star notes",
        "write:follows": "Add and remove friends",
        "write:blocks": "Block and unblock people",
        "write:notifications": "Clear and dismiss notifications",
    },
    "DEFAULT_SCOPES": ["read"],
    # An app gets only scopes within those it registered with (pownce/api/scopes.py).
    "SCOPES_BACKEND_CLASS": "pownce.api.scopes.RegisteredScopes",
    "OAUTH2_VALIDATOR_CLASS": "pownce.api.scopes.ScopeValidator",
    "PKCE_REQUIRED": _pkce_required,
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(env_float("POWNCE_API_TOKEN_SECONDS", 90 * 24 * 3600)),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 120,
    "ROTATE_REFRESH_TOKEN": True,
    # Tokens are stored as their SHA-256 only: a copy of the database or the cache holds none.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    # The OAuth 2.0 Security BCP (RFC 9700): no implicit or password grant, PKCE by S256 only,
    # tokens never in a URL, the issuer in the authorization response, a replayed refresh
    # token revokes its whole family.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # https redirect URIs; native apps' loopback (http) or own schemes are added by the operator.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] + env_list("POWNCE_API_REDIRECT_SCHEMES"),
}
# Requests per token (or per address without one) in each window, as Mastodon's 300 per 5 minutes.
API_RATE_LIMIT = int(env_float("POWNCE_API_RATE_LIMIT", 300))
API_RATE_WINDOW = int(env_float("POWNCE_API_RATE_WINDOW", 300))
# CORS as Mastodon allows it: any origin may call the API and the token endpoints, without
# cookies (a browser client sends its bearer token). The site's pages stay same-origin.
CORS_URLS_REGEX = r"^/(api/|oauth/token|oauth/revoke|\.well-known/)"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_EXPOSE_HEADERS = ["Link", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "pownce": {"handlers": ["console"], "level": env_str("POWNCE_LOG_LEVEL") or "INFO"},
        # Server errors reach the app server's error log (gunicorn's stderr) even without DEBUG.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
