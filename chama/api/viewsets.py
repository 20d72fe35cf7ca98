"""The base of every chama route: `/api/v1/chamas/{chama_id}/<things>/`.

The chama in the URL must be one the caller is an active member of; any other chama is a 404
(never a 403 that would confirm it exists). Rows come only from that chama. Every action the
viewset routes names, in `action_rules`, the authority action it needs in that chama (403 with the
reason otherwise: the caller can see the chama, so saying "not allowed" reveals nothing), or None
when every active member may take it. The services check the row itself (whose money it is).
"""

from functools import cached_property

from django.http import Http404
from rest_framework import viewsets

from chama import authority, tenancy


class ChamaNestedViewSet(viewsets.GenericViewSet):
    #: {viewset action: authority action, or None for every active member of the chama}. The
    #: authority sweep fails for a routed action missing here.
    action_rules = {}

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
        rule = self.action_rules.get(self.action)
        if rule:
            authority.require(request.user, rule, chama=chama)

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
