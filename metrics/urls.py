from django.urls import path

from metrics import views

app_name = "metrics"
urlpatterns = [
    path("compliance/", views.compliance_page, name="compliance"),
    path("drilldown/<slug:what>/", views.drilldown, name="drilldown"),
]
