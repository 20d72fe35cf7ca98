"""What the core announces for the apps above it to record (it imports none of them).

`security_event(kind, request, user, chama_id, detail)`: something a chama's officers or the
platform's staff should be able to see later — a money action refused, a refresh token used again
after its rotation. Sent once the refused request's own transaction is over, so what a receiver
writes is kept. (Failed logins come from Django's own `user_login_failed`.)
"""

from django.dispatch import Signal

security_event = Signal()
REFUSED, TOKEN_REUSE, SECRET_ROTATED = "refused", "token_reuse", "secret_rotated"


def refused(request, exc) -> None:
    """Announce a refused money action (`authority.Refused` with its action and chama)."""
    if getattr(exc, "about_money", False):
        security_event.send(
            sender=type(exc),
            kind=REFUSED,
            request=request,
            user=getattr(request, "user", None),
            chama_id=exc.chama_id,
            detail=f"{exc.action}: {exc.reason}",
        )
