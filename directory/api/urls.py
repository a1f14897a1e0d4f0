from rest_framework.routers import SimpleRouter

from directory.api.views import (
    LocationViewSet,
    OrganizationViewSet,
    SearchViewSet,
    ServiceViewSet,
)

router = SimpleRouter()
router.register("organizations", OrganizationViewSet, basename="api-directory-organization")
router.register("services", ServiceViewSet, basename="api-directory-service")
router.register("locations", LocationViewSet, basename="api-directory-location")
router.register("search", SearchViewSet, basename="api-directory-search")

urlpatterns = router.urls
