from django.urls import path  # noqa: F401  (routes are added with the deal pages)

app_name = "pipeline"

urlpatterns = []
