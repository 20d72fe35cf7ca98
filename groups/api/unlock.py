"""`POST /api/v1/chamas/{chama_id}/members/{id}/unlock/`: an officer unlocks a member's login.

A viewset of its own, registered on the `members` prefix: it routes only this one detail action,
so it adds a URL beside the member register's and shadows none of them.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from chama import login_security
from chama.api.viewsets import ChamaNestedViewSet
from groups.models import Membership


class MemberUnlockViewSet(ChamaNestedViewSet):
    """Unlock the login of a member of this chama after too many wrong passwords (the chairperson
    and the secretary, never their own); the member can log in again at once."""

    queryset = Membership.objects.select_related("user", "chama")
    action_rules = {"unlock": "unlock_login"}

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def unlock(self, request, *args, **kwargs):
        login_security.login_unlock(membership=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
