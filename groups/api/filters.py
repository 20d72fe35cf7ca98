import django_filters

from groups.models import Invitation, JoinRequest, Membership, MembershipChangeRequest


class MemberFilter(django_filters.FilterSet):
    joined_after = django_filters.DateFilter(field_name="joined_date", lookup_expr="gte")
    joined_before = django_filters.DateFilter(field_name="joined_date", lookup_expr="lte")

    class Meta:
        model = Membership
        fields = ["role", "status"]


class JoinRequestFilter(django_filters.FilterSet):
    class Meta:
        model = JoinRequest
        fields = ["status"]


class InvitationFilter(django_filters.FilterSet):
    class Meta:
        model = Invitation
        fields = ["status", "role"]


class MembershipChangeFilter(django_filters.FilterSet):
    # A plain number: a choice field would say whether a membership of another chama exists.
    membership = django_filters.NumberFilter(field_name="membership_id")

    class Meta:
        model = MembershipChangeRequest
        fields = ["status", "kind"]
