from drf_spectacular.utils import extend_schema
from rest_framework import generics

from accounts.api.serializers import MeSerializer, TeamSerializer, UserSerializer
from accounts.models import Team, User
from core.api.pagination import IdCursorPagination
from core.api.parsers import LimitedJSONParser
from core.api.schema import SafqaAutoSchema
from core.api.viewsets import SafqaReadOnlyViewSet


@extend_schema(tags=["me"])
class MeView(generics.RetrieveUpdateAPIView):
    """The signed-in user: read their profile, change their language, time zone or reminder offset."""

    serializer_class = MeSerializer
    parser_classes = [LimitedJSONParser]
    schema = SafqaAutoSchema()

    def get_object(self):
        # User, not type(request.user): with a browser session the user is Django's lazy wrapper
        # (SimpleLazyObject), whose type has no manager.
        return User.objects.prefetch_related("memberships__team").get(pk=self.request.user.pk)


class UserViewSet(SafqaReadOnlyViewSet):
    """The team members (read-only): who owns what, to filter by owner or assign records."""

    queryset = User.objects.filter(is_active=True).prefetch_related("memberships__team")
    serializer_class = UserSerializer
    filterset_fields = ["role"]
    pagination_class = IdCursorPagination


class TeamViewSet(SafqaReadOnlyViewSet):
    """The sales teams (read-only)."""

    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    filterset_fields = []
