"""The win model's card over the API (managers and admins; anyone else 404)."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant.display import status_reason
from assistant.selectors import win_model_card_for


class WinModelCardSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    trained_at = serializers.DateTimeField()
    status = serializers.CharField(help_text="in_use, too_few_deals or not_better")
    in_use = serializers.BooleanField()
    reason = serializers.CharField(
        allow_null=True, help_text="Why the stage percentage is shown, when the model is not used."
    )
    closed_deals = serializers.IntegerField()
    min_closed_deals = serializers.IntegerField()
    train_deals = serializers.IntegerField()
    holdout_deals = serializers.IntegerField()
    train_snapshots = serializers.IntegerField()
    holdout_snapshots = serializers.IntegerField()
    cutoff = serializers.DateTimeField(allow_null=True)
    training_seconds = serializers.FloatField()
    metrics = serializers.JSONField(
        help_text="model and baseline: auc, brier, calibration (bins: low, high, count, predicted, observed); "
        "brier_difference and its standard error (model − baseline, per holdout deal)."
    )


class WinModelCardView(APIView):
    """GET win-model/: the latest training run of the win model, its holdout figures against the stage baseline."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: WinModelCardSerializer})
    def get(self, request):
        card = win_model_card_for(request.user)
        if card is None:
            raise NotFound(status_reason(None))
        data = {
            name: getattr(card, name)
            for name in (
                "version",
                "trained_at",
                "status",
                "closed_deals",
                "min_closed_deals",
                "train_deals",
                "holdout_deals",
                "train_snapshots",
                "holdout_snapshots",
                "cutoff",
                "training_seconds",
                "metrics",
            )
        }
        data["in_use"] = card.in_use
        data["reason"] = None if card.in_use else status_reason(card)
        return Response(WinModelCardSerializer(data).data)
