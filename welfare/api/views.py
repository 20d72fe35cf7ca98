"""Welfare through the API: schemes, claims with their documents and decisions, and the fund."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from chama import authority
from chama.api.viewsets import ChamaNestedViewSet
from finance.api.serializers import JournalSerializer, ReasonSerializer
from finance.api.views.common import OwnRows, posted
from welfare import selectors, services
from welfare.api import serializers
from welfare.models import Claim, WelfareScheme

HISTORY = 100  # fund movements shown


class SchemeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """The chama's welfare schemes and what each event pays; officers set them up."""

    queryset = WelfareScheme.objects.prefetch_related("benefits")
    serializer_class = serializers.SchemeSerializer
    action_rules = {"list": None, "retrieve": None, "create": "manage_welfare"}

    @extend_schema(request=serializers.SchemeSerializer, responses={201: serializers.SchemeSerializer})
    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        benefits = [(b["event"], b["kind"], b["amount"]) for b in data.pop("benefits")]
        scheme = services.scheme_create(chama=self.chama, by=request.user, benefits=benefits, **data)
        return Response(self.get_serializer(scheme).data, status=status.HTTP_201_CREATED)


class ClaimViewSet(OwnRows, mixins.ListModelMixin, mixins.RetrieveModelMixin, ChamaNestedViewSet):
    """Welfare claims: a member submits their own (with a document) and sees them, and the chama's
    paid claims when the scheme shows them; officers see every claim with its eligibility, review,
    approve (as many as the scheme asks, never their own), reject with a reason or declare a
    conflict; the treasurer or chairperson pays an approved claim out of the fund."""

    queryset = Claim.objects.all()
    serializer_class = serializers.ClaimSerializer
    filterset_fields = ["status", "scheme", "event"]
    action_rules = {
        "list": None,
        "retrieve": None,
        "create": None,
        "documents": None,
        "review": "decide_claim",
        "approve": "decide_claim",
        "reject": "decide_claim",
        "conflict": "decide_claim",
        "pay": "pay_claim",
    }

    @property
    def everyone(self):
        return authority.may(self.request.user, "view_books", chama=self.chama)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Claim.objects.none()
        return (
            selectors.visible_claims(chama=self.chama, membership_id=self.my_membership_id, everyone=self.everyone)
            .prefetch_related("decisions", "documents")
            .order_by("-id")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and "chama_id" in self.kwargs:
            context.update(everyone=self.everyone, membership_id=self.my_membership_id)
        return context

    def answer(self, claim, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=claim.pk)).data, status=code)

    @extend_schema(request=serializers.ClaimCreateSerializer, responses={201: serializers.ClaimSerializer})
    def create(self, request, *args, **kwargs):
        body = serializers.ClaimCreateSerializer(data=request.data, context={"chama": self.chama})
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        membership = data.pop("membership") or self.my_membership()
        document, title = data.pop("document", None), data.pop("document_title")
        claim = services.claim_submit(
            membership=membership, by=request.user, documents=[(title, document)] if document else [], **data
        )
        return self.answer(claim, status.HTTP_201_CREATED)

    @extend_schema(request=serializers.DocumentUploadSerializer, responses={201: serializers.DocumentSerializer})
    @action(detail=True, methods=["post"])
    def documents(self, request, *args, **kwargs):
        """Add a document to your claim (officers: to any claim still open)."""
        claim = self.get_object()
        body = serializers.DocumentUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        document = services.document_add(claim=claim, by=request.user, **body.validated_data)
        return Response(serializers.DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def review(self, request, *args, **kwargs):
        return self.answer(services.claim_review(claim=self.get_object(), by=request.user))

    @extend_schema(request=serializers.DecisionCommentSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        """Your approval, through your own login; the scheme's number of approvals approves the claim."""
        claim = self.get_object()
        body = serializers.DecisionCommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self.answer(services.claim_approve(claim=claim, by=request.user, **body.validated_data))

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        claim = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self.answer(services.claim_reject(claim=claim, by=request.user, reason=body.validated_data["reason"]))

    @extend_schema(request=serializers.DecisionCommentSerializer)
    @action(detail=True, methods=["post"])
    def conflict(self, request, *args, **kwargs):
        """Declare a conflict of interest: you will not decide this claim."""
        claim = self.get_object()
        body = serializers.DecisionCommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.claim_declare_conflict(claim=claim, by=request.user, **body.validated_data)
        return self.answer(claim)

    @extend_schema(request=serializers.PaySerializer, responses={201: JournalSerializer})
    @action(detail=True, methods=["post"])
    def pay(self, request, *args, **kwargs):
        """Pay the approved claim out of the welfare fund; answers the payout's journal."""
        claim = self.get_object()
        body = serializers.PaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payment = services.claim_pay(claim=claim, by=request.user, **body.validated_data)
        return posted(payment.journal)


class FundViewSet(ChamaNestedViewSet):
    """The welfare fund: what it holds, its latest movements (every member), and who is behind on
    welfare dues (officers)."""

    queryset = WelfareScheme.objects.all()  # the chama's tenancy; the fund itself is a ledger account
    pagination_class = None
    answers_one_object = True
    action_rules = {"list": None}

    @extend_schema(responses=serializers.WelfareFundSerializer)
    def list(self, request, *args, **kwargs):
        officer = authority.may(request.user, "view_books", chama=self.chama)
        report = selectors.fund_report(chama=self.chama, history=HISTORY, with_arrears=officer)
        return Response(serializers.WelfareFundSerializer(report).data)
