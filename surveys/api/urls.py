from rest_framework.routers import SimpleRouter

from surveys.api import views

router = SimpleRouter()
router.register("surveys", views.SurveyViewSet, basename="api-survey")
router.register("survey-responses", views.SurveyResponseViewSet, basename="api-survey-response")

urlpatterns = router.urls
