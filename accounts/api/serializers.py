from rest_framework import serializers

from accounts.models import Membership, User


class MembershipSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["team", "team_name", "is_manager"]


class MeSerializer(serializers.ModelSerializer):
    """The signed-in user, with their teams."""

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
