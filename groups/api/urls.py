from django.urls import include, path
from rest_framework.routers import SimpleRouter

from groups.api import unlock, views

router = SimpleRouter()
router.register("chamas", views.ChamaViewSet, basename="chama")
router.register("join-requests", views.MyJoinRequestViewSet, basename="my-join-request")

# Everything that belongs to one chama lives under /api/v1/chamas/{chama_id}/.
chama_router = SimpleRouter()
chama_router.register("members", views.MemberViewSet, basename="chama-member")
chama_router.register("members", unlock.MemberUnlockViewSet, basename="chama-member-login")  # only members/{id}/unlock/
chama_router.register("join-requests", views.ChamaJoinRequestViewSet, basename="chama-join-request")
chama_router.register("invitations", views.InvitationViewSet, basename="chama-invitation")
chama_router.register("member-changes", views.MembershipChangeViewSet, basename="chama-member-change")

urlpatterns = [
    path("invitations/accept/", views.InvitationAcceptView.as_view(), name="invitation-accept"),
    path("chamas/<int:chama_id>/", include(chama_router.urls)),
    *router.urls,
]
