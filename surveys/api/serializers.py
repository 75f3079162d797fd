"""Surveys over REST: a survey is sent with POST (the same service as the pages); answers are read-only."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api.serializers import SafqaModelSerializer, VisiblePrimaryKeyRelatedField, caller
from crm.models import Contact
from pipeline.models import Deal
from surveys import services
from surveys.models import Survey, SurveyChannel, SurveyResponse, SurveyTemplate


class SurveyTemplateField(VisiblePrimaryKeyRelatedField):
    def get_queryset(self):
        return super().get_queryset().filter(is_active=True)


class SurveySerializer(SafqaModelSerializer):
    contact = VisiblePrimaryKeyRelatedField(queryset=Contact.objects.all())
    deal = VisiblePrimaryKeyRelatedField(queryset=Deal.objects.all(), allow_null=True, required=False)
    template = SurveyTemplateField(queryset=SurveyTemplate.objects.all())
    channel = serializers.ChoiceField(
        choices=SurveyChannel.choices,
        required=False,
        allow_null=True,
        help_text=_("Omit for the customer's preferred way (email, plus a WhatsApp text when they prefer WhatsApp)."),
    )
    whatsapp_url = serializers.SerializerMethodField(
        help_text=_("A wa.me link with the ready-to-send message, for a WhatsApp survey not answered yet.")
    )

    class Meta:
        model = Survey
        fields = [
            "id",
            "template",
            "kind",
            "contact",
            "deal",
            "case",
            "team",
            "owner",
            "sent_by",
            "channel",
            "emailed",
            "language",
            "status",
            "sent_at",
            "expires_at",
            "responded_at",
            "whatsapp_url",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "kind",
            "case",
            "team",
            "owner",
            "sent_by",
            "emailed",
            "language",
            "status",
            "sent_at",
            "expires_at",
            "responded_at",
            "version",
            "created_at",
            "updated_at",
        ]
        validators = []

    def get_whatsapp_url(self, survey) -> str:
        # Only for the people who may act on the survey; a syncing client or a webhook has no request.
        if "request" not in self.context or survey.is_answered or survey.is_expired():
            return ""
        return services.whatsapp_link(survey)

    def create(self, validated_data):
        return services.survey_send(
            template=validated_data["template"],
            contact=validated_data["contact"],
            deal=validated_data.get("deal"),
            channel=validated_data.get("channel") or None,
            by=caller(self),
        )


class SurveyResponseSerializer(SafqaModelSerializer):
    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "survey",
            "kind",
            "score",
            "comment",
            "responded_at",
            "contact",
            "deal",
            "team",
            "owner",
            "follow_up",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
