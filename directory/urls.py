from django.urls import path

from directory import views

app_name = "directory"
urlpatterns = [
    path("", views.search, name="search"),
    path("services/<uuid:pk>/", views.service_detail, name="service_detail"),
    path("manage/", views.manage, name="manage"),
    path("manage/organizations/new/", views.organization_edit, name="organization_new"),
    path("manage/organizations/<uuid:pk>/edit/", views.organization_edit, name="organization_edit"),
    path("manage/services/new/", views.service_edit, name="service_new"),
    path("manage/services/<uuid:pk>/edit/", views.service_edit, name="service_edit"),
    path("manage/locations/new/", views.location_edit, name="location_new"),
    path("manage/locations/<uuid:pk>/edit/", views.location_edit, name="location_edit"),
]
