from rest_framework.routers import SimpleRouter

from pipeline.api import views

router = SimpleRouter()
router.register("deals", views.DealViewSet, basename="api-deal")
router.register("pipelines", views.PipelineViewSet, basename="api-pipeline")

urlpatterns = router.urls
