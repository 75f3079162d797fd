from drf_spectacular.utils import extend_schema
from rest_framework import generics

from accounts.api.serializers import MeSerializer


@extend_schema(tags=["me"])
class MeView(generics.RetrieveUpdateAPIView):
    """The signed-in user: read their profile, change their language, time zone or reminder offset."""

    serializer_class = MeSerializer

    def get_object(self):
        return type(self.request.user).objects.prefetch_related("memberships__team").get(pk=self.request.user.pk)
