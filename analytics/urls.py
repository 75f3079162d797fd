from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/deals/", views.drilldown, name="drilldown"),
    path("targets/", views.quotas, name="quotas"),
]
