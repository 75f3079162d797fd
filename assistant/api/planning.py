"""API of My day's next best actions (any signed-in member) and of the sales forecast (managers)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant.forecast_selectors import sales_forecasts
from assistant.next_actions import next_actions
from assistant.next_actions_services import KEY_REGEX, suggestion_dismiss, suggestion_key_is_valid
from assistant.next_actions_views import visible_subject
from assistant.planning_models import SalesForecast, SalesForecastMonth
from core.api.idempotency import idempotent
from core.api.parsers import LimitedJSONParser
from core.api.schema import SafqaAutoSchema
from core.api.serializers import StrictSerializerMixin
from core.querysets import is_admin, scope_of


class ActionSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text="open_deal, schedule_follow_up, mark_done, finish_follow_up, call, whatsapp, email"
    )
    label = serializers.CharField()
    url = serializers.CharField(
        help_text="A page of Safqa (or a tel:, wa.me or mailto: link for call, whatsapp, email)."
    )
    method = serializers.ChoiceField(choices=["GET", "POST"])


class SuggestionSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Names the situation; POST it to dismiss/ to hide this suggestion for good.")
    kind = serializers.ChoiceField(
        choices=["overdue_follow_up", "unhappy_answer", "probability_drop", "going_cold", "no_next_step"]
    )
    kind_label = serializers.CharField()
    reason = serializers.CharField(help_text="One sentence in the request's language; names are Unicode-isolated.")
    deal = serializers.SerializerMethodField()
    follow_up = serializers.SerializerMethodField()
    contact = serializers.SerializerMethodField()
    company = serializers.SerializerMethodField()
    actions = ActionSerializer(many=True)

    def get_deal(self, suggestion) -> int | None:
        return getattr(suggestion.deal, "pk", None)

    def get_follow_up(self, suggestion) -> int | None:
        return getattr(suggestion.follow_up, "pk", None)

    def get_contact(self, suggestion) -> int | None:
        from crm.models import Contact

        return suggestion.customer.pk if isinstance(suggestion.customer, Contact) else None

    def get_company(self, suggestion) -> int | None:
        from crm.models import Company

        return suggestion.customer.pk if isinstance(suggestion.customer, Company) else None


class DismissSerializer(StrictSerializerMixin, serializers.Serializer):
    key = serializers.RegexField(
        KEY_REGEX, max_length=80, error_messages={"invalid": _("This is not a suggestion of My day.")}
    )

    def validate_key(self, value):
        if not suggestion_key_is_valid(value):
            raise serializers.ValidationError(_("This is not a suggestion of My day."))
        return value


@extend_schema(tags=["me"])
class NextActionsView(APIView):
    """The signed-in member's next best actions, best first: what to do now, why, and the taps that do it."""

    schema = SafqaAutoSchema()

    @extend_schema(responses=SuggestionSerializer(many=True))
    def get(self, request):
        return Response(SuggestionSerializer(next_actions(user=request.user), many=True).data)


@extend_schema(tags=["me"])
class NextActionDismissView(APIView):
    """Dismiss one suggestion for good (remembered for the signed-in member); dismissing twice is fine."""

    parser_classes = [LimitedJSONParser]
    schema = SafqaAutoSchema()

    @extend_schema(request=DismissSerializer, responses={204: None})
    @idempotent
    def post(self, request):
        serializer = DismissSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = serializer.validated_data["key"]
        visible_subject(request.user, key)
        suggestion_dismiss(key=key, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IsManager(permissions.BasePermission):
    message = _("Only sales managers and administrators can read the sales forecast.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and (is_admin(user) or scope_of(user).managed_team_ids))


class ForecastMonthSerializer(serializers.ModelSerializer):
    class Meta:
        model = SalesForecastMonth
        fields = ["month", "value", "low", "high", "actual"]


class SalesForecastSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)
    ahead = ForecastMonthSerializer(many=True, read_only=True, help_text="The next three months with their interval.")
    backtest = ForecastMonthSerializer(
        many=True, read_only=True, help_text="The last six complete months: the prediction and what was won."
    )

    class Meta:
        model = SalesForecast
        fields = [
            "id",
            "team",
            "team_name",
            "currency",
            "made_at",
            "status",
            "method",
            "history_start",
            "history_months",
            "months_needed",
            "interval_level",
            "mape",
            "backtest_months",
            "ahead",
            "backtest",
        ]
        read_only_fields = fields


@extend_schema(tags=["assistant"])
class SalesForecastListView(generics.ListAPIView):
    """The sales forecast of each team the caller manages (administrators: every team), per currency.

    Won value per month for the current month and the two after it, each with its interval,
    and the backtest error (MAPE, in percent) on the last six complete months. A forecast whose
    status is `too_short` has no months: `history_months` of the `months_needed` are there.
    """

    serializer_class = SalesForecastSerializer
    permission_classes = [permissions.IsAuthenticated, IsManager]
    pagination_class = None
    filter_backends = []
    schema = SafqaAutoSchema()

    def get_queryset(self):
        return SalesForecast.objects.none()

    def list(self, request, *args, **kwargs):
        return Response(self.get_serializer(sales_forecasts(user=request.user), many=True).data)
