from django.urls import path
from rest_framework.routers import SimpleRouter
from rest_framework_simplejwt.views import TokenBlacklistView, TokenVerifyView

from chama import downloads
from chama.api import views

urlpatterns = [
    path("auth/token/", views.LoginView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", views.RefreshView.as_view(), name="token-refresh"),
    path("auth/token/verify/", TokenVerifyView.as_view(), name="token-verify"),
    path("auth/logout/", TokenBlacklistView.as_view(), name="token-logout"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/password/", views.PasswordChangeView.as_view(), name="me-password"),
    path("files/<slug:kind>/<int:pk>/", downloads.DocumentDownloadView.as_view(), name="document-download"),
    path(
        "me/notification-preferences/", views.NotificationPreferenceView.as_view(), name="me-notification-preferences"
    ),
]

router = SimpleRouter()
router.register("notifications", views.NotificationViewSet, basename="notification")
urlpatterns += router.urls
