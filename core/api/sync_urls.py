"""Routes of the sync endpoints, mounted under /api/v1/ before the CRUD routers (so `changes` is never read as an id).

One route per model the apps registered (core.api.sync.register); the URL conf is read
after every AppConfig.ready() has run.
"""

from django.urls import path

from core.api.sync import registered

urlpatterns = [
    path(f"{synced.route}/changes/", synced.view.as_view(), name=f"api-{synced.model._meta.model_name}-changes")
    for synced in registered()
]
