from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("referrals/", views.referral_report, name="referral_report"),
    path("exports/", views.exports, name="exports"),
]
