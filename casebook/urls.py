from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog, set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.forms import SignInForm
from casebook import offline, views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="casework:caseload", permanent=False)),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    # The installable app (casebook/offline.py): at the root, so the worker's scope is the site.
    path("sw.js", offline.service_worker, name="service_worker"),
    path("manifest.webmanifest", offline.manifest, name="manifest"),
    path("offline/", offline.outbox_page, name="offline_outbox"),
    path("offline/session/", offline.session, name="offline_session"),
    path("offline/recorded/", offline.recorded, name="offline_recorded"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm,
            extra_context={"error_summary_intro": "Not logged in."},
        ),
        name="login",
    ),
    # The scripts' texts in the page's language (gettext() in static/js).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    # The language chosen before sign-in (the login page's switcher); after it, the user's.
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("", include("casework.urls")),
    path("cases/", include("cases.urls")),
    path("supervision/", include("supervision.urls")),
    path("audit/", include("audit.urls")),
    path("directory/", include("directory.urls")),
    path("referrals/", include("referrals.urls")),
    # Photos and documents of client records: the access-checked, audited way to them.
    path("attachments/", include("attachments.urls")),
    # The receiving provider's link: no account, a token in the path.
    path("p/", include("referrals.provider_urls")),
    # The client's safety plan by a link: no account, a token in the path.
    path("s/", include("plans.public_urls")),
    path("plans/", include("plans.urls")),
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
