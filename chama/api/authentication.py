import contextlib

from auditlog.context import auditlog_value
from rest_framework_simplejwt.authentication import JWTAuthentication


class AuditedJWTAuthentication(JWTAuthentication):
    """JWT authentication that names the API caller as the actor of the audit trail.

    The audit middleware runs before DRF has read the token, when the request is still
    anonymous; once the token is verified, the user becomes the actor of this request's changes.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            # LookupError: outside the audit middleware (e.g. a test calling the view directly).
            with contextlib.suppress(LookupError):
                auditlog_value.get()["actor"] = result[0]
        return result
