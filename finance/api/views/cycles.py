"""Savings cycles through the API: the cycle, the share-out preview, members' choices, and the
share-out asked for by one officer and approved by another."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from chama import authority
from chama.api.viewsets import ChamaNestedViewSet
from finance.api import cycle_serializers as serializers
from finance.api.serializers import ReasonSerializer
from finance.api.views.common import OwnRows
from finance.models import SavingsCycle, ShareOut
from finance.selectors import savings_cycles as reads
from finance.services import savings_cycles


class SavingsCycleViewSet(OwnRows, mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """The chama's savings cycles. Every member sees them and the share-out preview (their own line;
    officers every member's) and chooses cash or rollover for their payout; money officers open a
    cycle and ask for its share-out or for a leaving member's, which a second officer approves
    (`share-outs/`)."""

    queryset = SavingsCycle.objects.all()
    serializer_class = serializers.SavingsCycleSerializer
    filterset_fields = ["status"]
    action_rules = {
        "list": None,
        "retrieve": None,
        "preview": None,
        "choice": None,
        "create": "manage_savings_cycle",
        "share_out": "share_out",
        "member_exit": "share_out",
    }

    @extend_schema(
        request=serializers.SavingsCycleCreateSerializer, responses={201: serializers.SavingsCycleSerializer}
    )
    def create(self, request, *args, **kwargs):
        body = serializers.SavingsCycleCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cycle = savings_cycles.cycle_open(chama=self.chama, by=request.user, **body.validated_data)
        return Response(self.get_serializer(cycle).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=serializers.PreviewSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request, *args, **kwargs):
        """The share-out: as it stands today for a running cycle, as posted for a closed one."""
        cycle = self.get_object()
        everyone = authority.may(request.user, "view_books", chama=self.chama)
        figures = reads.share_out_figures(cycle=cycle, membership_id=None if everyone else self.my_membership_id)
        return Response(serializers.PreviewSerializer(figures).data)

    @extend_schema(request=serializers.ChoiceSerializer, responses=serializers.PreviewSerializer)
    @action(detail=True, methods=["post"])
    def choice(self, request, *args, **kwargs):
        """Your payout paid to you (cash) or rolled over into shares of the next cycle; officers may
        choose for a member who asks them to."""
        cycle = self.get_object()
        body = serializers.ChoiceSerializer(data=request.data, context={"chama": self.chama})
        body.is_valid(raise_exception=True)
        membership = body.validated_data["membership"] or self.my_membership()
        savings_cycles.choice_set(
            cycle=cycle, membership=membership, choice=body.validated_data["choice"], by=request.user
        )
        return self.preview(request, *args, **kwargs)

    @extend_schema(request=serializers.ShareOutRequestSerializer, responses={201: serializers.ShareOutSerializer})
    @action(detail=True, methods=["post"], url_path="share-out")
    def share_out(self, request, *args, **kwargs):
        """Ask for the cycle's share-out; it posts when a second officer approves it."""
        cycle = self.get_object()
        body = serializers.ShareOutRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        share_out = savings_cycles.share_out_request(cycle=cycle, by=request.user, **body.validated_data)
        return Response(serializers.ShareOutSerializer(share_out).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.MemberExitSerializer, responses={201: serializers.ShareOutSerializer})
    @action(detail=True, methods=["post"], url_path="member-exit")
    def member_exit(self, request, *args, **kwargs):
        """Share out a member who leaves mid-cycle, for their shares at today's value."""
        cycle = self.get_object()
        body = serializers.MemberExitSerializer(data=request.data, context={"chama": self.chama})
        body.is_valid(raise_exception=True)
        share_out = savings_cycles.share_out_request(cycle=cycle, by=request.user, **body.validated_data)
        return Response(serializers.ShareOutSerializer(share_out).data, status=status.HTTP_201_CREATED)


class ShareOutViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Share-outs asked for, posted or rejected (officers); a second officer approves or rejects."""

    queryset = ShareOut.objects.select_related("membership", "requested_by", "approved_by", "chama__policy")
    serializer_class = serializers.ShareOutSerializer
    filterset_fields = ["status", "cycle"]
    action_rules = {
        "list": "view_books",
        "retrieve": "view_books",
        "approve": "approve_share_out",
        "reject": "approve_share_out",
    }

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        """The second officer's signature: the share-out posts as the preview stands now."""
        share_out = savings_cycles.share_out_approve(share_out=self.get_object(), by=request.user)
        return Response(self.get_serializer(share_out).data)

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        share_out = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        share_out = savings_cycles.share_out_reject(
            share_out=share_out, by=request.user, reason=body.validated_data["reason"]
        )
        return Response(self.get_serializer(share_out).data)
