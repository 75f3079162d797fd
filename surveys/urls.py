from django.urls import path

from surveys import views

app_name = "surveys"

urlpatterns = [
    # Public: the customer's personal link (no sign-in).
    path("s/<str:token>/", views.answer, name="answer"),
    path("contacts/<int:pk>/feedback/", views.ask_for_feedback, {"kind": "contact"}, name="ask_contact"),
    path("deals/<int:pk>/feedback/", views.ask_for_feedback, {"kind": "deal"}, name="ask_deal"),
]
