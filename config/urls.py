from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from chama import health
from chama.api import exceptions

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("chama.api.urls")),
    path("api/v1/", include("groups.api.urls")),
    path("api/v1/", include("finance.api.urls")),
    path("api/v1/", include("meetings.api.urls")),
    path("api/v1/", include("welfare.api.urls")),
    path("api/v1/", include("reporting.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler404 = exceptions.not_found
handler500 = exceptions.server_error
