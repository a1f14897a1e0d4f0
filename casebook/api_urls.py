from django.urls import include, path
from rest_framework.routers import SimpleRouter

from casebook.api_views import ObtainTokenView
from cases.api.views import CaseViewSet, ClientViewSet, ContactViewSet

router = SimpleRouter()
router.register("clients", ClientViewSet, basename="api-client")
router.register("cases", CaseViewSet, basename="api-case")
router.register("contacts", ContactViewSet, basename="api-contact")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("directory/", include("directory.api.urls")),
    path("", include("referrals.api.urls")),
    path("", include("reports.api.urls")),
    path("", include("followups.api.urls")),
    path("metrics/", include("metrics.api.urls")),
    *router.urls,
]
