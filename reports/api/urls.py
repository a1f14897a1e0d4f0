from django.urls import path
from rest_framework.routers import SimpleRouter

from reports.api.views import ExportJobViewSet, ReferralReportView

router = SimpleRouter()
router.register("reports/exports", ExportJobViewSet, basename="api-report-export")

urlpatterns = [
    path("reports/referrals/", ReferralReportView.as_view(), name="api-report-referrals"),
    *router.urls,
]
