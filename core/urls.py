from django.urls import path

from core import pwa, views

app_name = "core"

urlpatterns = [
    path("healthz/", views.healthz, name="healthz"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("offline/", pwa.offline, name="offline"),
]
