from django.urls import path

from assistant.api.planning import NextActionDismissView, NextActionsView, SalesForecastListView

urlpatterns = [
    path("me/next-actions/", NextActionsView.as_view(), name="api-next-actions"),
    path("me/next-actions/dismiss/", NextActionDismissView.as_view(), name="api-next-action-dismiss"),
    path("sales-forecast/", SalesForecastListView.as_view(), name="api-sales-forecast"),
]
