from django.urls import path

from dispatch.views import board, requests, unit

app_name = "dispatch"

urlpatterns = [
    path("", board.board, name="board"),
    path("panels/", board.board_panels, name="board_panels"),
    path("alerts/<int:pk>/resolve/", board.resolve_alert, name="alert_resolve"),
    path("requests/new/", requests.request_new, name="request_new"),
    path("requests/client-lookup/", requests.client_lookup, name="client_lookup"),
    path("requests/<int:pk>/", requests.request_detail, name="request"),
    path("requests/<int:pk>/edit/", requests.request_edit, name="request_edit"),
    path("requests/<int:pk>/assign/", requests.request_assign, name="request_assign"),
    path("requests/<int:pk>/release/", requests.request_release, name="request_release"),
    path("requests/<int:pk>/not-served/", requests.request_not_served, name="request_not_served"),
    path("units/<int:pk>/service/", requests.unit_service, name="unit_service"),
    path("unit/", unit.unit_page, name="unit"),
    path("unit/panel/", unit.unit_panel, name="unit_panel"),
    path("unit/acknowledge/", unit.unit_acknowledge, name="unit_acknowledge"),
    path("unit/step/", unit.unit_step, name="unit_step"),
    path("unit/not-served/", unit.unit_not_served, name="unit_not_served"),
    path("unit/check-in/", unit.unit_check_in, name="unit_check_in"),
    path("unit/sos/", unit.unit_sos, name="unit_sos"),
    path("unit/sharing/", unit.unit_sharing, name="unit_sharing"),
    path("unit/position/", unit.unit_position, name="unit_position"),
    path("unit/end-shift/", unit.unit_end_shift, name="unit_end_shift"),
]
