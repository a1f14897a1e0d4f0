from django.urls import path
from rest_framework.routers import SimpleRouter

from dispatch.api.cad import CadIncidentView
from dispatch.api.views import RequestViewSet, UnitViewSet

router = SimpleRouter()
router.register("requests", RequestViewSet, basename="api-dispatch-request")
router.register("units", UnitViewSet, basename="api-dispatch-unit")

urlpatterns = [
    path("cad/incidents/", CadIncidentView.as_view(), name="api-dispatch-cad-incidents"),
    *router.urls,
]
