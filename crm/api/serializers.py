"""Shapes of companies, contacts, activities and follow-ups in the API.

Serializers check the shape of the input and hand it to crm.services; the rules
live in the services (and the models' clean()), which the web uses too.
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Team, User
from core.api.serializers import SafqaModelSerializer, StrictSerializerMixin, VisiblePrimaryKeyRelatedField, caller
from crm import services
from crm.models import Activity, Company, Contact, FollowUp, Tag
from pipeline.models import Deal

TIMESTAMPS = ["version", "created_at", "updated_at"]


# Described inline: as a named enum it would be a second name for the users' LanguageEnum,
# which drf-spectacular reports as a warning (and `check --deploy` fails on warnings).
@extend_schema_field({"type": "string", "enum": ["", *(code for code, _name in settings.LANGUAGES)]})
class PreferredLanguageField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=settings.LANGUAGES, allow_blank=True, required=False, **kwargs)


class CompanySerializer(SafqaModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)
    tags = serializers.PrimaryKeyRelatedField(queryset=Tag.objects.all(), many=True, required=False)

    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "website",
            "industry",
            "city",
            "country",
            "phone_raw",
            "phone",
            "notes",
            "owner",
            "team",
            "tags",
            "external_source",
            "external_id",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "phone", *TIMESTAMPS]
        validators = []  # uniqueness is the service's full_clean(), in the request's language

    def create(self, validated_data):
        return services.company_create(by=caller(self), **validated_data)

    def update(self, instance, validated_data):
        return services.company_update(company=instance, by=caller(self), **validated_data)


class ContactSerializer(SafqaModelSerializer):
    preferred_language = PreferredLanguageField()
    company = VisiblePrimaryKeyRelatedField(queryset=Company.objects.all(), allow_null=True, required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)
    tags = serializers.PrimaryKeyRelatedField(queryset=Tag.objects.all(), many=True, required=False)

    class Meta:
        model = Contact
        fields = [
            "id",
            "first_name",
            "last_name",
            "job_title",
            "email",
            "phone_raw",
            "phone",
            "company",
            "owner",
            "team",
            "tags",
            "notes",
            "preferred_channel",
            "preferred_language",
            "accessibility_needs",
            "needs_sign_language",
            "needs_large_print",
            "uses_screen_reader",
            "consent_marketing",
            "consent_data_sharing",
            "consent_updated_at",
            "last_contacted_at",
            "external_source",
            "external_id",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "phone", "consent_updated_at", "last_contacted_at", *TIMESTAMPS]
        validators = []

    def create(self, validated_data):
        return services.contact_create(by=caller(self), **validated_data)

    def update(self, instance, validated_data):
        return services.contact_update(contact=instance, by=caller(self), **validated_data)


class BulkContactsSerializer(StrictSerializerMixin, serializers.Serializer):
    """The envelope of a bulk upsert; each item is checked on its own by ContactSerializer."""

    items = serializers.ListField(child=serializers.DictField(), allow_empty=False, max_length=1000)


class BulkItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "updated", "error"])
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class BulkResultSerializer(serializers.Serializer):
    results = BulkItemResultSerializer(many=True)


class ActivitySerializer(SafqaModelSerializer):
    contact = VisiblePrimaryKeyRelatedField(queryset=Contact.objects.all(), allow_null=True, required=False)
    company = VisiblePrimaryKeyRelatedField(queryset=Company.objects.all(), allow_null=True, required=False)
    deal = VisiblePrimaryKeyRelatedField(queryset=Deal.objects.all(), allow_null=True, required=False)

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "occurred_at",
            "outcome",
            "subject",
            "body",
            "contact",
            "company",
            "deal",
            "actor",
            "team",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "actor", "team", "version", "created_at", "updated_at"]
        extra_kwargs = {"occurred_at": {"required": False}}
        validators = []

    def create(self, validated_data):
        return services.activity_log(by=caller(self), **validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("expected_version", None)
        return services.activity_update(activity=instance, by=caller(self), **validated_data)


class FollowUpSerializer(SafqaModelSerializer):
    contact = VisiblePrimaryKeyRelatedField(queryset=Contact.objects.all(), allow_null=True, required=False)
    company = VisiblePrimaryKeyRelatedField(queryset=Company.objects.all(), allow_null=True, required=False)
    deal = VisiblePrimaryKeyRelatedField(queryset=Deal.objects.all(), allow_null=True, required=False)
    assignee = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "subject",
            "notes",
            "kind",
            "due_at",
            "remind_at",
            "status",
            "completed_at",
            "contact",
            "company",
            "deal",
            "assignee",
            "created_by",
            "team",
            "reminder_state",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "kind",
            "completed_at",
            "created_by",
            "team",
            "reminder_state",
            "version",
            "created_at",
            "updated_at",
        ]
        validators = []

    def create(self, validated_data):
        validated_data.pop("status", None)  # a new follow-up is open
        return services.follow_up_schedule(by=caller(self), **validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("expected_version", None)
        return services.follow_up_update(follow_up=instance, by=caller(self), **validated_data)
