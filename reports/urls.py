from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("referrals/", views.referral_report, name="referral_report"),
    path("referrals.csv", views.referral_csv, name="referral_csv"),
    path("exports/", views.exports_list, name="exports"),
    path("exports/new/", views.export_request, name="export_request"),
    path("exports/<int:pk>/", views.export_status, name="export_status"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
]
