"""Shapes of deals and pipelines in the API; writes go through pipeline.services."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Team, User
from core.api.serializers import SafqaModelSerializer, StrictSerializerMixin, VisiblePrimaryKeyRelatedField, caller
from crm.models import Company, Contact
from pipeline import services
from pipeline.models import Deal, LossReason, Pipeline, Stage

_MOVE_MESSAGE = _("Change the stage with the move, won or lost action, so the deal's history is kept.")


class StageSerializer(SafqaModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "name", "name_en", "order", "probability", "kind"]
        read_only_fields = fields


class PipelineSerializer(SafqaModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = [
            "id",
            "name",
            "name_en",
            "order",
            "is_active",
            "after_sale_checkin_days",
            "stale_after_days",
            "stages",
            "version",
            "updated_at",
        ]
        read_only_fields = ["id", "stages", "version", "updated_at"]

    def create(self, validated_data):
        return services.pipeline_create(by=caller(self), **validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("expected_version", None)
        return services.pipeline_update(pipeline=instance, by=caller(self), **validated_data)


class DealSerializer(SafqaModelSerializer):
    company = VisiblePrimaryKeyRelatedField(queryset=Company.objects.all(), allow_null=True, required=False)
    contact = VisiblePrimaryKeyRelatedField(queryset=Contact.objects.all(), allow_null=True, required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)
    pipeline = serializers.PrimaryKeyRelatedField(queryset=Pipeline.objects.all(), required=False)
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(),
        required=False,
        help_text=_("Only when creating; move a deal with the move, won and lost actions."),
    )
    win_probability = serializers.SerializerMethodField(
        help_text=_(
            "Chance of winning an open deal, 0 to 1: the win model's score, else the stage's percentage; "
            "null once the deal is won or lost. Sort with o=win_probability."
        )
    )
    win_factors = serializers.SerializerMethodField(
        help_text=_(
            "The three factors that moved the score most: code, params, signed points (tenths of log-odds) "
            "and text in the request's language. Empty when the stage's percentage is shown."
        )
    )
    win_model_version = serializers.SerializerMethodField(
        help_text=_("Version of the win model that scored the deal; null when the stage's percentage is shown.")
    )

    class Meta:
        model = Deal
        fields = [
            "id",
            "title",
            "company",
            "contact",
            "owner",
            "team",
            "pipeline",
            "stage",
            "amount",
            "currency",
            "expected_close",
            "closed_at",
            "stage_entered_at",
            "loss_reason",
            "loss_note",
            "competitor",
            "source",
            "external_source",
            "external_id",
            "version",
            "created_at",
            "updated_at",
            "win_probability",
            "win_factors",
            "win_model_version",
        ]
        read_only_fields = [
            "id",
            "closed_at",
            "stage_entered_at",
            "loss_reason",
            "version",
            "created_at",
            "updated_at",
        ]
        validators = []

    def _win(self, deal):
        from assistant.display import win_view

        cache = self.context.setdefault("_win_views", {})
        if deal.pk not in cache:
            cache[deal.pk] = win_view(deal)
        return cache[deal.pk]

    def get_win_probability(self, deal) -> float | None:
        win = self._win(deal)
        return None if win is None else float(win.probability)

    def get_win_factors(self, deal) -> list[dict]:
        win = self._win(deal)
        if win is None:
            return []
        return [{"code": f.code, "params": f.params, "points": f.points, "text": f.sentence} for f in win.factors]

    def get_win_model_version(self, deal) -> int | None:
        win = self._win(deal)
        return None if win is None else win.model_version

    def validate(self, attrs):
        if self.instance is not None:
            errors = {}
            for name in ("pipeline", "stage"):
                if name in attrs and attrs[name].pk != getattr(self.instance, f"{name}_id"):
                    errors[name] = [_MOVE_MESSAGE]
                attrs.pop(name, None)
            if errors:
                raise serializers.ValidationError(errors)
        return attrs

    def create(self, validated_data):
        return services.deal_create(by=caller(self), **validated_data)

    def update(self, instance, validated_data):
        return services.deal_update(deal=instance, by=caller(self), **validated_data)


class BulkDealsSerializer(StrictSerializerMixin, serializers.Serializer):
    """The envelope of a deals bulk upsert; each item is checked on its own by DealSerializer."""

    items = serializers.ListField(child=serializers.DictField(), allow_empty=False, max_length=1000)


class DealMoveSerializer(StrictSerializerMixin, serializers.Serializer):
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    version = serializers.IntegerField(
        required=False, min_value=1, help_text=_("The version the client last saw; the If-Match header also works.")
    )
    loss_reason = serializers.PrimaryKeyRelatedField(queryset=LossReason.objects.all(), required=False)
    competitor = serializers.CharField(required=False, allow_blank=True, max_length=120)
    loss_note = serializers.CharField(required=False, allow_blank=True)


class DealWonSerializer(StrictSerializerMixin, serializers.Serializer):
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(), required=False, help_text=_("A won stage, when the pipeline has several.")
    )
    version = serializers.IntegerField(required=False, min_value=1)


class DealLostSerializer(StrictSerializerMixin, serializers.Serializer):
    loss_reason = serializers.PrimaryKeyRelatedField(queryset=LossReason.objects.all())
    competitor = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(), required=False, help_text=_("A lost stage, when the pipeline has several.")
    )
    version = serializers.IntegerField(required=False, min_value=1)
