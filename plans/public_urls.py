from django.urls import path

from plans import public_views

app_name = "plan_link"
urlpatterns = [
    # Any token reaches the view, so that a malformed one is answered (and audited) the
    # same way as an unknown, expired or revoked one.
    path("<path:token>/", public_views.plan_link, name="link"),
]
