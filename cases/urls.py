from django.urls import path

from cases import views

app_name = "cases"
urlpatterns = [
    path("", views.caseload, name="caseload"),
    path("contacts/new/", views.contact_new, name="contact_new"),
    path("contacts/suggest/", views.client_suggest, name="client_suggest"),
    path("contacts/draft/", views.contact_draft, name="contact_draft"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/amend/", views.contact_amend, name="contact_amend"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
    path("<int:pk>/close/", views.case_close, name="case_close"),
    path("<int:pk>/concerns/", views.case_concerns, name="case_concerns"),
    path("<int:pk>/emergency-access/", views.emergency_access, name="emergency_access"),
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
