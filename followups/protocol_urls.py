from django.urls import path

from followups import protocol_views

urlpatterns = [
    path("", protocol_views.protocol_list, name="protocol_list"),
    path("<int:pk>/", protocol_views.protocol_detail, name="protocol_detail"),
    path("<int:pk>/edit/", protocol_views.protocol_edit, name="protocol_edit"),
    path("<int:pk>/active/", protocol_views.protocol_active, name="protocol_active"),
]
