from django.urls import path

from attachments import views

app_name = "attachments"
urlpatterns = [
    # The section each record's page loads (and a page of its own without JavaScript).
    path("case/<int:pk>/", views.attachments_for, {"on": "case"}, name="case"),
    path("client/<int:pk>/", views.attachments_for, {"on": "client"}, name="client"),
    path("contact/<int:pk>/", views.attachments_for, {"on": "contact"}, name="contact"),
    path("consent/<int:pk>/", views.attachments_for, {"on": "consent"}, name="consent"),
    path("<int:pk>/file/", views.attachment_file, name="file"),
    path("<int:pk>/in-error/", views.attachment_in_error, name="in_error"),
]
