"""Routes of the sync endpoints, mounted under /api/v1/ before the CRUD routers (so `changes` is never read as an id)."""

from django.urls import path

from core.api.sync import CompanyChangesView, ContactChangesView, DealChangesView

urlpatterns = [
    path("companies/changes/", CompanyChangesView.as_view(), name="api-company-changes"),
    path("contacts/changes/", ContactChangesView.as_view(), name="api-contact-changes"),
    path("deals/changes/", DealChangesView.as_view(), name="api-deal-changes"),
]
