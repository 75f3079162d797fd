from django.urls import path

from analytics import support_views, views

app_name = "analytics"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/deals/", views.drilldown, name="drilldown"),
    path("dashboard/support/", support_views.support_drilldown, name="support_drilldown"),
    path("targets/", views.quotas, name="quotas"),
]
