"""Settings modules: base (shared), local (development, manage.py), production (servers), test."""

# Django's own marker for a key that must never reach production: local.py's development keys
# carry it, `check --deploy` flags it and production.py refuses it.
DEVELOPMENT_KEY_PREFIX = "django-insecure-"
