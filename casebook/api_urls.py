from django.urls import include, path
from rest_framework.routers import SimpleRouter

from casebook.api_views import ApiTokenViewSet, LogoutView, ObtainTokenView
from metrics.api.views import ResponseMeasuresView

tokens = SimpleRouter()
tokens.register("auth/tokens", ApiTokenViewSet, basename="api-tokens")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    path("", include(tokens.urls)),
    path("directory/", include("directory.api.urls")),
    path("", include("referrals.api.urls")),
    path("", include("attachments.api.urls")),
    path("", include("reports.api.urls")),
    path("", include("followups.api.urls")),
    path("", include("plans.api.urls")),
    path("metrics/", include("metrics.api.urls")),
    path("dispatch/measures/", ResponseMeasuresView.as_view(), name="api-dispatch-measures"),
    path("dispatch/", include("dispatch.api.urls")),
    path("", include("cases.api.urls")),
]
