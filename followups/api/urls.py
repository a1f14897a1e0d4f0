from rest_framework.routers import SimpleRouter

from followups.api.views import FollowUpViewSet, HospitalVisitViewSet, ProtocolViewSet

router = SimpleRouter()
router.register("followups", FollowUpViewSet, basename="api-followup")
router.register("protocols", ProtocolViewSet, basename="api-protocol")
router.register("hospital-visits", HospitalVisitViewSet, basename="api-hospital-visit")

urlpatterns = [*router.urls]
