from django.urls import include, path
from rest_framework.routers import SimpleRouter

from reporting.api import views

router = SimpleRouter()
router.register("reports/share-out", views.ShareOutReportViewSet, basename="chama-share-out-report")
router.register("reports", views.ReportViewSet, basename="chama-report")
router.register("my/summary", views.MySummaryViewSet, basename="my-summary")
router.register("my/statement", views.MyStatementViewSet, basename="my-statement")
router.register("members", views.MemberSummaryViewSet, basename="chama-member-summary")
router.register("summary", views.GroupSummaryViewSet, basename="chama-summary")
router.register("generated-reports", views.GeneratedReportViewSet, basename="chama-generated-report")

urlpatterns = [path("chamas/<int:chama_id>/", include(router.urls))]
