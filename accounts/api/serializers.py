from rest_framework import serializers

from accounts.models import Membership, Team, User
from core.api.serializers import CleanTextModelSerializerMixin, SafqaModelSerializer


class MembershipSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["team", "team_name", "is_manager"]


class MeSerializer(CleanTextModelSerializerMixin, serializers.ModelSerializer):
    """The signed-in user, with their teams (saved by DRF itself: the text rule applies here)."""

    memberships = MembershipSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "language",
            "time_zone",
            "reminder_offset_minutes",
            "memberships",
        ]
        read_only_fields = ["id", "username", "role", "memberships"]


class UserSerializer(serializers.ModelSerializer):
    """A team member as other members see them."""

    memberships = MembershipSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "role", "language", "memberships"]
        read_only_fields = fields


class TeamSerializer(SafqaModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "time_zone", "going_cold_days", "updated_at"]
        read_only_fields = fields
