from django.urls import path

from assistant.api.win import WinModelCardView

urlpatterns = [path("win-model/", WinModelCardView.as_view(), name="api-win-model")]
