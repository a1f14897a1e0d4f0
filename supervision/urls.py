from django.urls import path

from supervision import views

app_name = "supervision"
urlpatterns = [
    path("", views.team, name="team"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/<int:pk>/reassign/", views.reassign_case, name="reassign_case"),
    path("reassign-caseload/", views.reassign_caseload, name="reassign_caseload"),
    path("emergency-access/", views.emergency_access, name="emergency_access"),
    path(
        "emergency-access/<int:pk>/review/",
        views.emergency_access_review,
        name="emergency_access_review",
    ),
]
