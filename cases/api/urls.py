from rest_framework.routers import SimpleRouter

from cases.api.views import CaseViewSet, ClientViewSet, ContactViewSet

router = SimpleRouter()
router.register("clients", ClientViewSet, basename="api-client")
router.register("cases", CaseViewSet, basename="api-case")
router.register("contacts", ContactViewSet, basename="api-contact")

urlpatterns = router.urls
