from django.urls import path

from crm import lookups, views

app_name = "crm"

urlpatterns = [
    path("lookups/companies/", lookups.company_options, name="company_options"),
    path("lookups/companies/new/", lookups.company_quick_create, name="company_quick_create"),
    path("lookups/contacts/", lookups.contact_options, name="contact_options"),
    path("lookups/people/", lookups.people_options, name="people_options"),
    path("companies/", views.company_list, name="company_list"),
    path("companies/new/", views.company_create, name="company_create"),
    path("companies/<int:pk>/", views.company_detail, name="company_detail"),
    path("companies/<int:pk>/edit/", views.company_update, name="company_update"),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_update, name="contact_update"),
    path("activities/new/", views.activity_log, name="activity_log"),
    path("activities/quick/", views.quick_log, name="quick_log"),
    path("follow-ups/", views.follow_up_list, name="follow_up_list"),
    path("follow-ups/new/", views.follow_up_create, name="follow_up_create"),
    path("follow-ups/<int:pk>/edit/", views.follow_up_update, name="follow_up_update"),
    path("follow-ups/<int:pk>/done/", views.follow_up_done, name="follow_up_done"),
    path("follow-ups/<int:pk>/finish/", views.follow_up_finish, name="follow_up_finish"),
    path("follow-ups/<int:pk>/snooze/", views.follow_up_snooze, name="follow_up_snooze"),
    path("follow-ups/<int:pk>/reopen/", views.follow_up_reopen, name="follow_up_reopen"),
]
