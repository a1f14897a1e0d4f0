from django.urls import path

from metrics.api import views

urlpatterns = [
    path("compliance/", views.ComplianceView.as_view(), name="api-metrics-compliance"),
    path("fum/", views.HedisView.as_view(measure="fum"), name="api-metrics-fum"),
    path("fua/", views.HedisView.as_view(measure="fua"), name="api-metrics-fua"),
    path("drop-off/", views.DropOffView.as_view(), name="api-metrics-drop-off"),
    path("no-contact/", views.NoContactView.as_view(), name="api-metrics-no-contact"),
    path("programme/", views.ProgrammeView.as_view(), name="api-metrics-programme"),
    path("trend/", views.TrendView.as_view(), name="api-metrics-trend"),
    path("plans/", views.PlanMeasuresView.as_view(), name="api-metrics-plans"),
    path("plans/<slug:key>/", views.PlanCasesView.as_view(), name="api-metrics-plan-cases"),
]
