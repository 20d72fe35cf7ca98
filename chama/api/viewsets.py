"""The base of every chama route: `/api/v1/chamas/{chama_id}/<things>/`.

The chama in the URL must be one the caller is an active member of; any other chama is a 404
(never a 403 that would confirm it exists). Rows come only from that chama. Actions listed in
`action_roles` need one of those roles in that chama (403 otherwise: the caller can see the
chama, so saying "not allowed" reveals nothing).
"""

from functools import cached_property

from django.http import Http404
from rest_framework import viewsets

from chama import tenancy
from chama.roles import Role


class ChamaNestedViewSet(viewsets.GenericViewSet):
    #: {action name: roles that may perform it}; other actions are open to every active member.
    action_roles = {}

    @cached_property
    def chama(self):
        chama_model = self.queryset.model._meta.get_field("chama").related_model
        try:
            chama_id = int(self.kwargs["chama_id"])
        except (KeyError, TypeError, ValueError):
            raise Http404 from None
        if chama_id not in tenancy.member_chama_ids(self.request.user):
            raise Http404
        return chama_model.objects.get(pk=chama_id)

    def check_permissions(self, request):
        super().check_permissions(request)
        chama = self.chama
        roles = self.action_roles.get(self.action)
        if roles and not tenancy.has_role(request.user, chama.pk, roles):
            names = " or ".join(sorted(Role(role).label.lower() for role in roles))
            self.permission_denied(request, message=f"Only the {names} of this chama may do this.")

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return queryset.none()
        return queryset.filter(chama=self.chama)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and "chama_id" in self.kwargs:
            context["chama"] = self.chama
        return context

    def caller_role(self):
        return tenancy.chama_roles(self.request.user).get(self.chama.pk)
