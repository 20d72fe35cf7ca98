from django.urls import include, path
from rest_framework.routers import SimpleRouter

from welfare.api import views

router = SimpleRouter()
router.register("welfare/schemes", views.SchemeViewSet, basename="chama-welfare-scheme")
router.register("welfare/claims", views.ClaimViewSet, basename="chama-welfare-claim")
router.register("welfare/fund", views.FundViewSet, basename="chama-welfare-fund")

urlpatterns = [path("chamas/<int:chama_id>/", include(router.urls))]
