from django.urls import path

from referrals import views

app_name = "referrals"
urlpatterns = [
    path("", views.referral_list, name="list"),
    path("new/", views.referral_new, name="new"),
    path("<int:pk>/", views.referral_detail, name="detail"),
    path("<int:pk>/send/", views.referral_send, name="send"),
    path("<int:pk>/status/", views.referral_status, name="status"),
    path("<int:pk>/appointment/", views.referral_appointment, name="appointment"),
    path("<int:pk>/links/", views.link_new, name="link_new"),
    path("<int:pk>/links/<int:link_pk>/revoke/", views.link_revoke, name="link_revoke"),
    path("consents/new/", views.consent_new, name="consent_new"),
    path("consents/<int:pk>/", views.consent_detail, name="consent_detail"),
    path("consents/<int:pk>/revoke/", views.consent_revoke, name="consent_revoke"),
]
