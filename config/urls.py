from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", include("core.urls")),
    path("accounts/", include("accounts.urls")),
    path("", include("crm.urls")),
    path("", include("pipeline.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("transfers.urls")),
    path("", include("analytics.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("core.api.sync_urls")),
    path("api/v1/", include("crm.api.urls")),
    path("api/v1/", include("pipeline.api.urls")),
    path("api/v1/", include("webhooks.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
