from django.urls import path

from followups import protocol_views

urlpatterns = [
    path("", protocol_views.protocol_list, name="protocol_list"),
]
