from django.urls import path

from crm import views

app_name = "crm"

urlpatterns = [
    path("follow-ups/<int:pk>/done/", views.follow_up_done, name="follow_up_done"),
]
