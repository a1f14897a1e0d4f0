"""The worker's pages that gather cases, follow-ups and referrals, at the paths of
the apps they gather."""

from django.urls import path

from casework import views

app_name = "casework"
urlpatterns = [
    path("cases/", views.caseload, name="caseload"),
    path("cases/contacts/new/", views.contact_new, name="contact_new"),
    path("cases/contacts/suggest/", views.client_suggest, name="client_suggest"),
    path("cases/contacts/draft/", views.contact_draft, name="contact_draft"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/close/", views.case_close, name="case_close"),
    path("cases/<int:pk>/concerns/", views.case_concerns, name="case_concerns"),
    path("cases/<int:pk>/notes/", views.case_note, name="case_note"),
    path("cases/<int:pk>/emergency-access/", views.emergency_access, name="emergency_access"),
    path("followups/cases/<int:case_pk>/add/", views.add, name="followup_add"),
    path("followups/cases/<int:case_pk>/visits/new/", views.visit_add, name="visit_add"),
    path("followups/visits/<int:pk>/discharge/", views.visit_discharge, name="visit_discharge"),
    path("followups/enrolments/<int:pk>/end/", views.enrolment_end, name="enrolment_end"),
]
