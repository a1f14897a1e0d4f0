from django.urls import path

from metrics import views

app_name = "metrics"
urlpatterns = [
    path("compliance/", views.compliance_page, name="compliance"),
    path("drilldown/<slug:what>/", views.drilldown, name="drilldown"),
    path("response/", views.response_page, name="response"),
    path("response/requests/<slug:what>/", views.response_requests, name="response_requests"),
]
