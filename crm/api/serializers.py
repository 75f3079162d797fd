"""Shapes of companies, contacts, activities and follow-ups in the API.

Serializers check the shape of the input and hand it to crm.services; the rules
live in the services (and the models' clean()), which the web uses too.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import ManyRelatedField, PKOnlyObject, PrimaryKeyRelatedField

from accounts.models import Team, User
from core.api.serializers import (
    IdField,
    SafqaModelSerializer,
    StrictSerializerMixin,
    VisiblePrimaryKeyRelatedField,
    caller,
)
from crm import services
from crm.models import Activity, Company, Contact, FollowUp, Tag
from crm.selectors import attach_tag_ids
from pipeline.models import Deal
from transfers.merging import MERGE_FIELDS

TIMESTAMPS = ["version", "created_at", "updated_at"]
_SKIP = object()


class TaggedListSerializer(serializers.ListSerializer):
    """A page of companies or contacts: the tags of all of them read in one query (`attach_tag_ids`)."""

    def to_representation(self, data):
        records = list(data.all() if isinstance(data, models.manager.BaseManager) else data)
        attach_tag_ids(records)
        return [self.child.to_representation(record) for record in records]


class FastReadMixin:
    """The same representation as DRF's, without its per-field machinery for plain model fields.

    For every field of every record DRF walks get_attribute(), checks for callables
    and wraps related ids; for a page of 100 contacts that costs about as much as the
    query. Here a model field is read straight from the record and formatted by the
    field's own to_representation(), a foreign key gives its id, and the tags come
    from the ids `TaggedListSerializer` attached. Any other field takes DRF's path.
    """

    def to_representation(self, instance):
        data = {}
        for name, read in self._read_plan():
            value = read(instance)
            if value is not _SKIP:
                data[name] = value
        return data

    def _read_plan(self):
        # One plan per serializer class, made from an instance of its own with no context: the fields'
        # to_representation() of a stored value depends on neither request nor instance. Building a
        # ModelSerializer's fields costs about as much as a one-record request's query, so a detail
        # read (which validates nothing) builds none.
        cls = type(self)
        plan = cls.__dict__.get("_fast_read_plan")
        if plan is None:
            template = cls(context={})
            plan = [(field.field_name, _reader(field)) for field in template._readable_fields]
            cls._fast_read_plan = plan
        return plan


def _reader(field):
    """How FastReadMixin reads one field; the fallback is DRF's own Serializer.to_representation step."""
    model_fields = {f.name: f for f in field.parent.Meta.model._meta.concrete_fields}
    source = field.source_attrs[0] if len(field.source_attrs) == 1 else None
    if isinstance(field, ManyRelatedField) and source == "tags":
        return lambda record: _tag_ids(record, field)
    model_field = model_fields.get(source)
    if model_field is not None and model_field.is_relation:
        if isinstance(field, PrimaryKeyRelatedField) and field.pk_field is None:
            return lambda record: getattr(record, model_field.attname)
    elif model_field is not None and type(field) is serializers.BooleanField:
        # DRF looks a stored yes/no up in its sets of true and false spellings; a bool is its own answer.
        def read_bool(record):
            value = getattr(record, source)
            return value if value is None or type(value) is bool else field.to_representation(value)

        return read_bool
    elif model_field is not None:

        def read(record):
            value = getattr(record, source)
            return None if value is None else field.to_representation(value)

        return read

    def read_as_drf(record):
        try:
            attribute = field.get_attribute(record)
        except SkipField:
            return _SKIP
        check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
        return None if check_for_none is None else field.to_representation(attribute)

    return read_as_drf


def _tag_ids(record, field):
    tag_ids = getattr(record, "tag_ids", None)
    if tag_ids is None:
        return field.to_representation(field.get_attribute(record))
    return list(tag_ids)


# Described inline: as a named enum it would be a second name for the users' LanguageEnum,
# which drf-spectacular reports as a warning (and `check --deploy` fails on warnings).
@extend_schema_field({"type": "string", "enum": ["", *(code for code, _name in settings.LANGUAGES)]})
class PreferredLanguageField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=settings.LANGUAGES, allow_blank=True, required=False, **kwargs)


class CompanySerializer(FastReadMixin, SafqaModelSerializer):
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
            "phone_verified",
            "notes",
            "owner",
            "team",
            "tags",
            "external_source",
            "external_id",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "phone", "phone_verified", *TIMESTAMPS]
        validators = []  # uniqueness is the service's full_clean(), in the request's language
        list_serializer_class = TaggedListSerializer

    def create(self, validated_data):
        return services.company_create(by=caller(self), **validated_data)

    def update(self, instance, validated_data):
        return services.company_update(company=instance, by=caller(self), **validated_data)


class ContactSerializer(FastReadMixin, SafqaModelSerializer):
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
            "phone_verified",
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
            "consent_phone",
            "consent_whatsapp",
            "consent_email",
            "consent_marketing",
            "consent_data_sharing",
            "consent_updated_at",
            "last_contacted_at",
            "external_source",
            "external_id",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "phone", "phone_verified", "consent_updated_at", "last_contacted_at", *TIMESTAMPS]
        validators = []
        list_serializer_class = TaggedListSerializer

    def create(self, validated_data):
        contact = services.contact_create(by=caller(self), **validated_data)
        if not validated_data.get("tags"):
            contact.tag_ids = []  # a new contact without tags has none: no query to say so
        return contact

    def update(self, instance, validated_data):
        if "tags" in validated_data:
            instance.__dict__.pop("tag_ids", None)  # read with the record, replaced now: read again
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


class MergeSerializer(StrictSerializerMixin, serializers.Serializer):
    """A merge request: the record that stays, those merged into it, and whose value each field keeps.

    The ids are checked here only as ids; whether the caller may edit the records is the
    merge service's check (transfers.merging), the same as on the web page.
    """

    # Set by subclasses: the field names a choice may name (transfers.merging.MERGE_FIELDS).
    merge_fields: tuple[str, ...] = ()

    survivor = IdField(help_text=_("Id of the record that stays."))
    merge = serializers.ListField(
        child=IdField(), allow_empty=False, max_length=100, help_text=_("Ids of the records merged into the survivor.")
    )
    choices = serializers.DictField(
        child=IdField(),
        required=False,
        help_text=_("Field name → id of the record (the survivor or a merged one) whose value the survivor keeps."),
    )

    def validate_choices(self, value):
        unknown = sorted(set(value) - set(self.merge_fields))
        if unknown:
            raise serializers.ValidationError(
                _("These fields cannot be chosen: %(names)s. Choose among: %(fields)s.")
                % {"names": ", ".join(unknown), "fields": ", ".join(self.merge_fields)}
            )
        return value

    def validate(self, attrs):
        merged = [pk for pk in dict.fromkeys(attrs["merge"]) if pk != attrs["survivor"]]
        if not merged:
            raise serializers.ValidationError({"merge": [_("Choose at least two records to merge.")]})
        ids = {attrs["survivor"], *merged}
        if any(pk not in ids for pk in attrs.get("choices", {}).values()):
            raise serializers.ValidationError(
                {"choices": [_("Each choice must be the id of the survivor or of a merged record.")]}
            )
        return {**attrs, "merge": merged}


class ContactMergeSerializer(MergeSerializer):
    merge_fields = tuple(MERGE_FIELDS["contact"])


class MergeResultSerializer(serializers.Serializer):
    merge = serializers.IntegerField(help_text=_("Id of the merge (it can be undone on the possible duplicates page)."))
    survivor = serializers.IntegerField()


class DuplicatesQuerySerializer(serializers.Serializer):
    """What a possible duplicate is looked for by; DRF's CharField refuses NUL and lone surrogates."""

    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    phone = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text=_("Any format; compared in E.164.")
    )
    name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text=_("Compared with the Arabic-aware normalization."),
    )


class ContactDuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    company = serializers.CharField(allow_null=True)


class ContactDuplicatesSerializer(serializers.Serializer):
    results = ContactDuplicateSerializer(many=True)


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
