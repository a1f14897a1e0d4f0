from django.urls import include, path

from casebook.api_views import ObtainTokenView

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("directory/", include("directory.api.urls")),
    path("", include("referrals.api.urls")),
    path("", include("reports.api.urls")),
    path("", include("followups.api.urls")),
    path("metrics/", include("metrics.api.urls")),
    path("", include("cases.api.urls")),
]
