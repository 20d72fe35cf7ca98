"""OpenAPI description of our authentication class (drf-spectacular knows only its parent)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class AuditedJWTScheme(SimpleJWTScheme):
    target_class = "chama.api.authentication.AuditedJWTAuthentication"
