"""Shapes of support cases in the API; writes go through cases.services."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Team, User
from cases import services
from cases.models import Case, CaseStatus
from core.api.serializers import SafqaModelSerializer, StrictSerializerMixin, VisiblePrimaryKeyRelatedField, caller
from crm.models import Company, Contact
from pipeline.models import Deal


class CaseSerializer(SafqaModelSerializer):
    contact = VisiblePrimaryKeyRelatedField(queryset=Contact.objects.all())
    company = VisiblePrimaryKeyRelatedField(queryset=Company.objects.all(), allow_null=True, required=False)
    deal = VisiblePrimaryKeyRelatedField(queryset=Deal.objects.all(), allow_null=True, required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)

    class Meta:
        model = Case
        fields = [
            "id",
            "subject",
            "description",
            "contact",
            "company",
            "deal",
            "priority",
            "status",
            "owner",
            "team",
            "due_at",
            "first_response_at",
            "solved_at",
            "closed_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "due_at",
            "first_response_at",
            "solved_at",
            "closed_at",
            "version",
            "created_at",
            "updated_at",
        ]

    def create(self, validated_data):
        return services.case_create(by=caller(self), **validated_data)

    def update(self, instance, validated_data):
        return services.case_update(case=instance, by=caller(self), **validated_data)


class CaseSolveSerializer(StrictSerializerMixin, serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text=_("The version the client last saw; the If-Match header also works.")
    )
    survey_template = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text=_("A survey template to send the customer now that the case is solved."),
    )


class CaseStatusSerializer(StrictSerializerMixin, serializers.Serializer):
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    version = serializers.IntegerField(required=False, min_value=1)
