from django.urls import path

from plans.views import crisis, links, safety

app_name = "plans"
urlpatterns = [
    # The safety plan (views/safety.py): written on a case, read on the client.
    path("cases/<int:case_id>/safety-plan/", safety.safety_plan_edit, name="safety_plan_edit"),
    path("clients/<int:client_id>/safety-plan/", safety.safety_plan_detail, name="safety_plan"),
    path(
        "clients/<int:client_id>/safety-plan/versions/<int:number>/",
        safety.safety_plan_version,
        name="safety_plan_version",
    ),
    path(
        "clients/<int:client_id>/safety-plan/print/",
        safety.safety_plan_print,
        name="safety_plan_print",
    ),
    path(
        "clients/<int:client_id>/safety-plan/pdf/", safety.safety_plan_pdf, name="safety_plan_pdf"
    ),
    # Its link to the client (views/links.py).
    path(
        "clients/<int:client_id>/safety-plan/links/",
        links.safety_plan_link_send,
        name="safety_plan_link_send",
    ),
    path(
        "safety-plan-links/<int:pk>/revoke/",
        links.safety_plan_link_revoke,
        name="safety_plan_link_revoke",
    ),
    # The crisis response plan (views/crisis.py).
    path("cases/<int:case_id>/crisis-plan/", crisis.crisis_plan_edit, name="crisis_plan_edit"),
    path("clients/<int:client_id>/crisis-plan/", crisis.crisis_plan_detail, name="crisis_plan"),
    path("crisis-plans/<int:pk>/<str:action>/", crisis.crisis_plan_act, name="crisis_plan_act"),
]
