"""Test settings: the same stack, a fast hasher, and SQLite unless DATABASE_URL says otherwise."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-for-hs256")
os.environ.setdefault("DEBUG", "false")

from .base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
MEDIA_ROOT = str(BASE_DIR / ".pytest_cache" / "media")  # noqa: F405
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SMS_BACKEND = "chama.sms.MemoryBackend"
# A task runs as it is enqueued (after the commit, like the real queue), so tests see its effects.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Throttles as in production but far above what a test sends (one test lowers them to see a 429).
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/min"),  # noqa: F405
}
