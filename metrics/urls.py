from django.urls import path

from metrics import views

app_name = "metrics"
urlpatterns = [
    path("compliance/", views.compliance, name="compliance"),
]
