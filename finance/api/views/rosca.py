"""Merry-go-rounds through the API: cycles, their roster, and paying out each round."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from chama import authority
from chama.api.viewsets import ChamaNestedViewSet
from finance.api import serializers
from finance.api.views.common import OwnRows, OwnUnlessOfficerMixin, posted
from finance.models import RoscaCycle, RoscaExit, RoscaPayout, RosterChange, RosterSlot
from finance.selectors.rosca import rosca_bids, rosca_rounds
from finance.services import rosca, rosca_exits


class RoscaCycleViewSet(OwnRows, mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """The chama's merry-go-round cycles, with the caller's own place and the next round. Members
    see a cycle once it has started (its roster published); officers see drafts too, set the
    roster (a draw anyone can re-check, or the agreed order), start the cycle and pay out rounds."""

    queryset = RoscaCycle.objects.prefetch_related(
        Prefetch("slots", queryset=RosterSlot.objects.select_related("membership__user").order_by("position")),
        "payouts",
    )
    serializer_class = serializers.RoscaCycleSerializer
    filterset_fields = ["status"]
    action_rules = {
        "list": None,
        "retrieve": None,
        "roster": None,
        "create": "manage_rosca",
        "draw": "manage_rosca",
        "set_roster": "manage_rosca",
        "start": "manage_rosca",
        "pay_round": "pay_rosca",
        "top_up": "pay_rosca",
        "exit": "settle_rosca_exit",
        "bid": None,
        "bids": None,
        "recover": "recover_rosca_arrears",
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False) or authority.may(
            self.request.user, "manage_rosca", chama=self.chama
        ):
            return queryset
        return queryset.exclude(status=RoscaCycle.Status.DRAFT)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and "chama_id" in self.kwargs:
            context["membership_id"] = self.my_membership_id
        return context

    def answer(self, cycle, code=status.HTTP_200_OK):
        cycle = self.get_queryset().get(pk=cycle.pk)
        return Response(self.get_serializer(cycle).data, status=code)

    @extend_schema(request=serializers.RoscaCycleCreateSerializer, responses={201: serializers.RoscaCycleSerializer})
    def create(self, request, *args, **kwargs):
        body = serializers.RoscaCycleCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cycle = rosca.cycle_create(chama=self.chama, by=request.user, **body.validated_data)
        return self.answer(cycle, status.HTTP_201_CREATED)

    @extend_schema(responses=serializers.RosterSlotSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def roster(self, request, *args, **kwargs):
        """Who receives the pot in which round, and on what date."""
        return Response(serializers.RosterSlotSerializer(rosca_rounds(cycle=self.get_object()), many=True).data)

    @extend_schema(request=serializers.DrawSerializer, responses=serializers.RoscaCycleSerializer)
    @action(detail=True, methods=["post"])
    def draw(self, request, *args, **kwargs):
        """Draw the roster: members receive the pot in the order of SHA-256("<seed>:<member number>")."""
        cycle = self.get_object()  # another chama's cycle is a 404 before the body is read
        body = serializers.DrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rosca.roster_draw(cycle=cycle, by=request.user, seed=body.validated_data["seed"])
        return self.answer(cycle)

    @extend_schema(request=serializers.RosterOrderSerializer, responses=serializers.RoscaCycleSerializer)
    @action(detail=True, methods=["post"], url_path="set-roster")
    def set_roster(self, request, *args, **kwargs):
        """The order the members agreed: every active member once, first recipient first."""
        cycle = self.get_object()
        body = serializers.RosterOrderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rosca.roster_set(cycle=cycle, membership_ids=body.validated_data["membership_ids"], by=request.user)
        return self.answer(cycle)

    @extend_schema(request=None, responses=serializers.RoscaCycleSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, *args, **kwargs):
        """Publish the roster and begin raising each round's dues into the pot."""
        cycle = self.get_object()
        rosca.cycle_start(cycle=cycle, by=request.user)
        return self.answer(cycle)

    @extend_schema(request=serializers.PayRoundSerializer, responses={201: serializers.RoscaPayoutSerializer})
    @action(detail=True, methods=["post"], url_path="pay-round")
    def pay_round(self, request, *args, **kwargs):
        """Pay a round's pot to its recipient (above the threshold it waits for a second officer)."""
        cycle = self.get_object()
        body = serializers.PayRoundSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payout = rosca.round_payout(cycle=cycle, by=request.user, **body.validated_data)
        return Response(serializers.RoscaPayoutSerializer(payout).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.PayRoundSerializer, responses={201: serializers.RoscaPayoutSerializer})
    @action(detail=True, methods=["post"], url_path="top-up")
    def top_up(self, request, *args, **kwargs):
        """Pay on to a round's recipient what members behind on it paid after it was paid out short."""
        cycle = self.get_object()
        body = serializers.PayRoundSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payout = rosca.round_top_up(cycle=cycle, by=request.user, **body.validated_data)
        return Response(serializers.RoscaPayoutSerializer(payout).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.RecoverSerializer, responses={201: serializers.JournalSerializer})
    @action(detail=True, methods=["post"])
    def recover(self, request, *args, **kwargs):
        """Take what a member who has received the pot is late with from their savings."""
        cycle = self.get_object()
        body = serializers.RecoverSerializer(data=request.data, context={"chama": self.chama})
        body.is_valid(raise_exception=True)
        journal = rosca.recover_round_arrears(cycle=cycle, by=request.user, **body.validated_data)
        return posted(journal)

    @extend_schema(request=serializers.BidSerializer, responses={201: serializers.RoscaBidSerializer})
    @action(detail=True, methods=["post"])
    def bid(self, request, *args, **kwargs):
        """Bid for the next round of a bidding cycle: the discount on the pot you accept (a new bid
        replaces your last). The highest bid takes the round when it is paid out."""
        cycle = self.get_object()
        body = serializers.BidSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = rosca.bid_place(cycle=cycle, membership=self.my_membership(), by=request.user, **body.validated_data)
        return Response(serializers.RoscaBidSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=serializers.RoscaBidSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def bids(self, request, *args, **kwargs):
        """Bids for rounds not paid out yet, highest first: officers see every one; a member their own
        (bids are sealed until the round is paid out)."""
        cycle = self.get_object()
        rows = rosca_bids(cycle=cycle)
        if not authority.may(request.user, "view_books", chama=self.chama):
            rows = [row for row in rows if row.membership_id == self.my_membership_id]
        return Response(serializers.RoscaBidSerializer(rows, many=True).data)

    @extend_schema(request=serializers.RoscaExitRequestSerializer, responses={201: serializers.RoscaExitSerializer})
    @action(detail=True, methods=["post"])
    def exit(self, request, *args, **kwargs):
        """Record a member leaving the running cycle; a second officer approves (`rosca-exits/`)."""
        cycle = self.get_object()
        body = serializers.RoscaExitRequestSerializer(data=request.data, context={"chama": self.chama})
        body.is_valid(raise_exception=True)
        row = rosca_exits.exit_request(cycle=cycle, by=request.user, **body.validated_data)
        return Response(serializers.RoscaExitSerializer(row).data, status=status.HTTP_201_CREATED)


class RoscaPayoutViewSet(OwnUnlessOfficerMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Rounds paid out (or waiting for a second officer): officers see every one, a member their own."""

    queryset = RoscaPayout.objects.select_related("slot", "membership", "recorded_by", "approved_by")
    serializer_class = serializers.RoscaPayoutSerializer
    filterset_fields = ["status", "cycle"]
    action_rules = {
        "list": None,
        "retrieve": None,
        "approve": "approve_rosca_payout",
        "reject": "approve_rosca_payout",
    }

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        """The second officer's signature: the pot is paid."""
        return Response(self.get_serializer(rosca.payout_approve(payout=self.get_object(), by=request.user)).data)

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        payout = self.get_object()
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payout = rosca.payout_reject(payout=payout, by=request.user, reason=body.validated_data["reason"])
        return Response(self.get_serializer(payout).data)


class RoscaExitViewSet(OwnUnlessOfficerMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Members leaving a running merry-go-round: what they owe or are owed, and what was paid back.
    A second officer approves or rejects (never the member); a money officer pays back a member who
    left before their round what has come in for them. Officers see every exit, a member their own."""

    queryset = RoscaExit.objects.select_related("membership", "recorded_by", "approved_by", "chama__policy")
    serializer_class = serializers.RoscaExitSerializer
    filterset_fields = ["status", "cycle"]
    action_rules = {
        "list": None,
        "retrieve": None,
        "approve": "approve_rosca_payout",
        "reject": "approve_rosca_payout",
        "refund": "settle_rosca_exit",
    }

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        """The second officer's signature: the member's dues, the roster and the levies change."""
        return Response(self.get_serializer(rosca_exits.exit_approve(exit=self.get_object(), by=request.user)).data)

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        row = self.get_object()
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = rosca_exits.exit_reject(exit=row, by=request.user, reason=body.validated_data["reason"])
        return Response(self.get_serializer(row).data)

    @extend_schema(request=serializers.RefundSerializer, responses={201: serializers.JournalSerializer})
    @action(detail=True, methods=["post"])
    def refund(self, request, *args, **kwargs):
        """Pay back what has come in for a member who left before their round."""
        row = self.get_object()
        body = serializers.RefundSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        journal = rosca_exits.exit_refund(exit=row, by=request.user, **body.validated_data)
        return posted(journal)


class RosterChangeViewSet(OwnRows, mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Swaps and deferrals of merry-go-round rounds: a member asks (a swap names the other member,
    who agrees or declines with `consent/`); an officer who is neither member approves or rejects.
    Officers see every request; a member the ones they are part of."""

    queryset = RosterChange.objects.select_related("membership", "other", "cycle")
    serializer_class = serializers.RosterChangeSerializer
    filterset_fields = ["status", "cycle"]
    action_rules = {
        "list": None,
        "retrieve": None,
        "create": None,
        "consent": None,
        "approve": "manage_rosca",
        "reject": "manage_rosca",
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False) or authority.may(
            self.request.user, "manage_rosca", chama=self.chama
        ):
            return queryset
        mine = self.my_membership_id
        return queryset.filter(Q(membership_id=mine) | Q(other_id=mine)) if mine else queryset.none()

    @extend_schema(
        request=serializers.RosterChangeRequestSerializer, responses={201: serializers.RosterChangeSerializer}
    )
    def create(self, request, *args, **kwargs):
        body = serializers.RosterChangeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        cycle = RoscaCycle.objects.filter(chama=self.chama, pk=data["cycle"]).first()
        me = self.my_membership()
        if cycle is None:
            raise ValidationError({"cycle": "Pick a running cycle of this chama that you are on."})
        if data["kind"] == RosterChange.Kind.SWAP:
            other = self.chama.memberships.filter(pk=data["other"]).first() if data["other"] else None
            if other is None:
                raise ValidationError({"other": "Name the member to swap with (their membership id)."})
            change = rosca.swap_request(cycle=cycle, membership=me, other=other, by=request.user)
        else:
            change = rosca.defer_request(cycle=cycle, membership=me, by=request.user)
        return Response(self.get_serializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.ConsentSerializer)
    @action(detail=True, methods=["post"])
    def consent(self, request, *args, **kwargs):
        """The other member of a swap agrees (an officer then approves) or declines."""
        change = self.get_object()
        body = serializers.ConsentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        change = rosca.swap_consent(change=change, by=request.user, agree=body.validated_data["agree"])
        return Response(self.get_serializer(change).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return Response(self.get_serializer(rosca.change_approve(change=self.get_object(), by=request.user)).data)

    @extend_schema(request=serializers.ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        change = self.get_object()
        body = serializers.ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        change = rosca.change_reject(change=change, by=request.user, reason=body.validated_data["reason"])
        return Response(self.get_serializer(change).data)
