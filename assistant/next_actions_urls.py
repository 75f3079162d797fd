from django.urls import path

from assistant import next_actions_views

app_name = "next_actions"

urlpatterns = [
    path("my-day/suggestions/", next_actions_views.section, name="section"),
    path("my-day/suggestions/dismiss/", next_actions_views.dismiss, name="dismiss"),
]
