import django_filters

from groups.models import Invitation, JoinRequest, Membership


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
