"""The lock-and-transition steps the services share (`chama.transitions`)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from chama.transitions import locked_in_status, move
from groups.models import JoinRequest
from tests.factories import JoinRequestFactory

pytestmark = pytest.mark.django_db


def test_a_row_in_an_allowed_status_comes_back_locked_once_the_officer_may_act(chama, secretary):
    request = JoinRequestFactory(chama=chama)
    row = locked_in_status(
        JoinRequest.objects.all(),
        pk=request.pk,
        allowed=JoinRequest.Status.PENDING,
        by=secretary,
        action="manage_members",
        on_chama=True,
    )
    assert row.pk == request.pk


def test_a_decided_row_is_refused_in_its_own_words(chama, secretary):
    request = JoinRequestFactory(chama=chama, status=JoinRequest.Status.DECLINED)
    with pytest.raises(ValidationError, match=r"^\['This join request is already declined\.'\]$"):
        locked_in_status(JoinRequest.objects.all(), pk=request.pk, allowed=[JoinRequest.Status.PENDING], by=secretary)
    with pytest.raises(ValidationError, match="stands declined"):
        locked_in_status(
            JoinRequest.objects.all(),
            pk=request.pk,
            allowed=JoinRequest.Status.PENDING,
            refusal="The {what} stands {status}.",
        )


def test_the_authority_is_asked_before_the_status_is_told(chama, plain_member):
    request = JoinRequestFactory(chama=chama, status=JoinRequest.Status.APPROVED)
    with pytest.raises(PermissionDenied):
        locked_in_status(
            JoinRequest.objects.all(),
            pk=request.pk,
            allowed=JoinRequest.Status.PENDING,
            by=plain_member,
            action="manage_members",
            on_chama=True,
        )


def test_move_saves_the_status_and_the_fields_given_and_nothing_else(chama, secretary):
    request = JoinRequestFactory(chama=chama)
    request.message = "changed in memory only"
    move(request, JoinRequest.Status.DECLINED, decided_by=secretary, decline_reason="Full this year.")
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decline_reason, request.message) == (
        JoinRequest.Status.DECLINED,
        secretary,
        "Full this year.",
        "I would like to join.",
    )
