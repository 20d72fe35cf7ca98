from django.urls import include, path
from rest_framework.routers import SimpleRouter

from meetings.api import views

router = SimpleRouter()
router.register("meetings", views.MeetingViewSet, basename="chama-meeting")
router.register("my/attendance", views.MyAttendanceViewSet, basename="my-attendance")
router.register("proposals", views.ProposalViewSet, basename="chama-proposal")

urlpatterns = [path("chamas/<int:chama_id>/", include(router.urls))]
