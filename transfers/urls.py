from django.urls import path

from transfers import views

app_name = "transfers"

urlpatterns = [
    path("import/", views.import_upload, name="import"),
    path("import/<int:pk>/", views.import_preview, name="import_preview"),
    path("import/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("import/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("import/<int:pk>/cancel/", views.import_cancel, name="import_cancel"),
    path("import/<int:pk>/undo/", views.import_undo, name="import_undo"),
    path("import/<int:pk>/errors.csv", views.import_errors, name="import_errors"),
    path("export/<str:kind>.<str:fmt>", views.export, name="export"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("contacts/duplicate-check/", views.contact_duplicate_check, name="contact_duplicate_check"),
    path("merge/<str:kind>/", views.merge, name="merge"),
    path("merges/<int:pk>/undo/", views.merge_undo, name="merge_undo"),
]
