from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api.views import MeView, TeamViewSet, UserViewSet

router = SimpleRouter()
router.register("users", UserViewSet, basename="api-user")
router.register("teams", TeamViewSet, basename="api-team")

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    *router.urls,
]
