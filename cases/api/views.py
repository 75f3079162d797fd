"""Support cases over REST: CRUD through visibility, plus `solve` (optionally sending a survey)."""

from django.apps import apps
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.response import Response

from cases import services
from cases.api.filtersets import CaseApiFilterSet
from cases.api.serializers import CaseSerializer, CaseSolveSerializer
from cases.models import Case
from core.api.idempotency import idempotent
from core.api.viewsets import SafqaModelViewSet


def survey_template_or_400(pk, user):
    """The active survey template `pk`, or a 400 naming the field (None when no survey is asked for)."""
    if pk is None:
        return None
    template = None
    if apps.is_installed("surveys"):
        model = apps.get_model("surveys", "SurveyTemplate")
        template = model.objects.visible_to(user).filter(pk=pk, is_active=True).first()
    if template is None:
        raise exceptions.ValidationError({"survey_template": [_("Choose a survey template from the list.")]})
    return template


class CaseViewSet(SafqaModelViewSet):
    """Support cases after the sale. Solve one with `solve` (and optionally send the customer a survey).

    Status changes may also be PATCHed; `solve` is the one that can send a survey.
    """

    queryset = Case.objects.all()
    serializer_class = CaseSerializer
    filterset_class = CaseApiFilterSet
    write_actions = ("solve",)
    if_match_actions = write_actions

    def delete_service(self, *, record, by, expected_version):
        services.case_delete(case=record, by=by, expected_version=expected_version)

    @extend_schema(request=CaseSolveSerializer, responses={200: CaseSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def solve(self, request, pk=None):
        case = self.get_object()
        body = CaseSolveSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        header_version = self.expected_version()
        version = header_version if header_version is not None else body.validated_data.get("version")
        template = survey_template_or_400(body.validated_data.get("survey_template"), request.user)
        solved = services.case_solve(case=case, by=request.user, expected_version=version, survey_template=template)
        return Response(CaseSerializer(solved, context=self.get_serializer_context()).data)
