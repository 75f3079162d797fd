from rest_framework.routers import SimpleRouter

from crm.api import views

router = SimpleRouter()
router.register("companies", views.CompanyViewSet, basename="api-company")
router.register("contacts", views.ContactViewSet, basename="api-contact")
router.register("activities", views.ActivityViewSet, basename="api-activity")
router.register("follow-ups", views.FollowUpViewSet, basename="api-follow-up")

urlpatterns = router.urls
