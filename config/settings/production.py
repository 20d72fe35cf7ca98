"""Production settings, the default of wsgi/asgi: DEBUG off, HTTPS only, nothing guessed.

SECRET_KEY and ALLOWED_HOSTS come from the environment or the process refuses to start, so a
deployment mistake shows at start and not as forged tokens or a Host-header hole. Run management
commands with DJANGO_SETTINGS_MODULE=config.settings.production too; `manage.py check --deploy`
reports nothing with these settings.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings import DEVELOPMENT_KEY_PREFIX

# One JSON object a log line, with the request id, unless LOG_FORMAT says otherwise.
os.environ.setdefault("LOG_FORMAT", "json")

from .base import *  # noqa: E402,F403
from .base import DEBUG, MIDDLEWARE, SECRET_KEY, env  # noqa: E402

if DEBUG:
    raise ImproperlyConfigured("config.settings.production never runs with DEBUG on: unset DEBUG or set it to false.")
if SECRET_KEY.startswith(DEVELOPMENT_KEY_PREFIX):
    raise ImproperlyConfigured("SECRET_KEY is a development key: set a long random key of this deployment's own.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set ALLOWED_HOSTS to the host names served, e.g. ALLOWED_HOSTS=chama.example.co.ke")

# Money and passwords travel over HTTPS only: plain HTTP is redirected, browsers are told to
# remember that (HSTS), and cookies never leave over plain HTTP.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    # Behind a load balancer that ends TLS and sets X-Forwarded-Proto (and strips a client's own).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

if not SECURE_HSTS_PRELOAD:
    # Joining the browsers' preload list (hstspreload.org) binds the whole domain for months and is
    # the domain owner's decision, made with SECURE_HSTS_PRELOAD=true; not one to make by default.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# A load balancer's or orchestrator's probe may ask for /healthz over plain HTTP on the inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Static files (the admin's, Swagger UI's) are served by the application itself through WhiteNoise:
# `collectstatic` copies them to STATIC_ROOT with a hash of their content in each name and a gzipped
# copy beside, so browsers and the proxy may keep them for a year.
MIDDLEWARE = [
    *MIDDLEWARE[: MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1 :],
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "config.static_files.GzippedManifestStaticFilesStorage"},
}

# Redis: the cache of every process (API throttles, sessions). Sessions are written to the
# database and read from the cache (`cached_db`), so a Redis restart logs nobody out.
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="chama"),
        "TIMEOUT": 300,
        # A Redis that does not answer makes a request fail in a second, not hang a worker.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
