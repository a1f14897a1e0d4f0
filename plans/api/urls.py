from rest_framework.routers import SimpleRouter

from plans.api.views import CrisisPlanViewSet, SafetyPlanLinkViewSet, SafetyPlanViewSet

router = SimpleRouter()
router.register("safety-plans", SafetyPlanViewSet, basename="api-safety-plan")
router.register("safety-plan-links", SafetyPlanLinkViewSet, basename="api-safety-plan-link")
router.register("crisis-plans", CrisisPlanViewSet, basename="api-crisis-plan")

urlpatterns = router.urls
