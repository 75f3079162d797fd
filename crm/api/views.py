"""Companies, contacts, activities and follow-ups over REST; every write goes through crm.services."""

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import OuterRef
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.idempotency import idempotent
from core.api.viewsets import SafqaModelViewSet
from crm import services
from crm.api.bulk import contacts_bulk_upsert
from crm.api.filtersets import ActivityApiFilterSet, CompanyApiFilterSet, ContactApiFilterSet, FollowUpApiFilterSet
from crm.api.serializers import (
    ActivitySerializer,
    BulkContactsSerializer,
    BulkResultSerializer,
    CompanySerializer,
    ContactDuplicatesSerializer,
    ContactMergeSerializer,
    ContactSerializer,
    DuplicatesQuerySerializer,
    FollowUpSerializer,
    MergeResultSerializer,
)
from crm.models import Activity, Company, Contact, FollowUp
from transfers import services as transfer_services
from transfers.duplicates import similar_contacts


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class CompanyViewSet(SafqaModelViewSet):
    """Customer organisations. A company with deals cannot be deleted (409)."""

    queryset = Company.objects.all()  # a page's tags are read by the serializer, in one query
    serializer_class = CompanySerializer
    filterset_class = CompanyApiFilterSet

    def delete_service(self, *, record, by, expected_version):
        try:
            services.company_delete(company=record, by=by, expected_version=expected_version)
        except ValidationError as error:
            raise Conflict(" ".join(error.messages)) from None


class ContactViewSet(SafqaModelViewSet):
    """People at customers. `bulk/` creates or updates up to 1,000 contacts by external id."""

    queryset = Contact.objects.all()  # a page's tags are read by the serializer, in one query
    serializer_class = ContactSerializer
    filterset_class = ContactApiFilterSet
    service_checks_version = True  # contact_update locks the row and compares If-Match under the lock

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.detail and connection.vendor == "postgresql":
            # One record: its tag ids (in name order, as attach_tag_ids gives a page's) come with it,
            # in the same statement, instead of a second query when it is serialized.
            tag_ids = (
                Contact.tags.through.objects.filter(contact_id=OuterRef("pk"))
                .order_by("tag__name", "tag_id")
                .values("tag_id")
            )
            queryset = queryset.annotate(tag_ids=ArraySubquery(tag_ids))
        if self.request.method in ("PUT", "PATCH"):
            # The model's clean() compares the company's team with the contact's.
            queryset = queryset.select_related("company")
        return queryset

    def delete_service(self, *, record, by, expected_version):
        services.contact_delete(contact=record, by=by, expected_version=expected_version)

    @extend_schema(request=BulkContactsSerializer, responses={200: BulkResultSerializer})
    @action(detail=False, methods=["post"], url_path="bulk")
    @idempotent
    def bulk(self, request):
        envelope = BulkContactsSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        results = contacts_bulk_upsert(items=envelope.validated_data["items"], request=request)
        return Response({"results": results})

    @extend_schema(
        summary="Merge contacts into a survivor (activities, deals, follow-ups and tags move to it)",
        request=ContactMergeSerializer,
        responses={201: MergeResultSerializer},
    )
    @action(detail=False, methods=["post"], url_path="merge", filter_backends=[], pagination_class=None)
    @idempotent
    def merge(self, request):
        """The same merge as the possible-duplicates page (transfers.merging), for records the caller may edit."""
        serializer = ContactMergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # A record the caller may not edit, or may not see, is refused by the service with one message.
        done = transfer_services.merge_records(
            by=request.user,
            kind="contact",
            survivor_id=data["survivor"],
            other_ids=data["merge"],
            choices=data.get("choices", {}),
        )
        return Response({"merge": done.pk, "survivor": done.survivor_id}, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Contacts that look like the one described (same email, phone, or name)",
        parameters=[DuplicatesQuerySerializer],
        responses={200: ContactDuplicatesSerializer},
    )
    @action(detail=False, methods=["get"], url_path="duplicates", filter_backends=[], pagination_class=None)
    def duplicates(self, request):
        """Up to 10 visible contacts with the same email, the same phone (any format) or the same normalized name."""
        query = DuplicatesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        matches = similar_contacts(user=request.user, **query.validated_data)
        results = [
            {
                "id": contact.pk,
                "name": contact.full_name,
                "email": contact.email,
                "phone": contact.phone,
                "company": contact.company.name if contact.company_id else None,
            }
            for contact in matches
        ]
        return Response({"results": results})


class ActivityViewSet(SafqaModelViewSet):
    """Calls, meetings, emails and notes. Logging a call, meeting or email updates the contact's last contact."""

    queryset = Activity.objects.all()
    serializer_class = ActivitySerializer
    filterset_class = ActivityApiFilterSet

    def delete_service(self, *, record, by, expected_version):
        services.activity_delete(activity=record, by=by)


class FollowUpViewSet(SafqaModelViewSet):
    """Follow-ups; a new time or assignee re-arms the reminder, `status` done/open completes or reopens."""

    queryset = FollowUp.objects.all()
    serializer_class = FollowUpSerializer
    filterset_class = FollowUpApiFilterSet

    def delete_service(self, *, record, by, expected_version):
        services.follow_up_delete(follow_up=record, by=by)
