from django.urls import path

from cases import views

app_name = "cases"
urlpatterns = [
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/amend/", views.contact_amend, name="contact_amend"),
    path("clients/", views.client_search, name="client_search"),
    path("clients/<int:pk>/", views.client_detail, name="client_detail"),
    path("clients/<int:pk>/edit/", views.client_edit, name="client_edit"),
    path("clients/<int:pk>/merge/", views.client_merge, name="client_merge"),
    path(
        "clients/<int:pk>/merge/<int:other>/",
        views.client_merge_confirm,
        name="client_merge_confirm",
    ),
]
