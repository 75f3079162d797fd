from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("cases/", views.CaseListView.as_view(), name="case_list"),
    path("cases/new/", views.CaseCreateView.as_view(), name="case_create"),
    path("cases/<int:pk>/", views.CaseDetailView.as_view(), name="case_detail"),
    path("cases/<int:pk>/edit/", views.CaseUpdateView.as_view(), name="case_update"),
    path("cases/<int:pk>/status/", views.CaseStatusView.as_view(), name="case_status"),
    path("cases/<int:pk>/activities/", views.CaseActivityView.as_view(), name="case_activity"),
]
