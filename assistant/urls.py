from django.urls import path

from assistant import views

app_name = "assistant"

urlpatterns = [
    path("assistant/win-model/", views.win_model, name="win_model"),
]
