from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.forms import SignInForm
from casebook import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="casework:caseload", permanent=False)),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm,
            extra_context={"error_summary_intro": "Not logged in."},
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("", include("casework.urls")),
    path("cases/", include("cases.urls")),
    path("supervision/", include("supervision.urls")),
    path("audit/", include("audit.urls")),
    path("directory/", include("directory.urls")),
    path("referrals/", include("referrals.urls")),
    # The receiving provider's link: no account, a token in the path.
    path("p/", include("referrals.provider_urls")),
    path("reports/", include("reports.urls")),
    path("followups/", include("followups.urls")),
    path("inbox/", include("notifications.urls")),
    path("metrics/", include("metrics.urls")),
    path("dispatch/", include("dispatch.urls")),
    path("api/v1/", include("casebook.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
