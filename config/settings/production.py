"""Production settings, the default of wsgi/asgi: DEBUG off, HTTPS only, nothing guessed.

SECRET_KEY and ALLOWED_HOSTS come from the environment or the process refuses to start, so a
deployment mistake shows at start and not as forged tokens or a Host-header hole. Run management
commands with DJANGO_SETTINGS_MODULE=config.settings.production too; `manage.py check --deploy`
reports nothing with these settings.
"""

from django.core.exceptions import ImproperlyConfigured

from config.settings import DEVELOPMENT_KEY_PREFIX

from .base import *  # noqa: F403
from .base import DEBUG, SECRET_KEY, env

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
