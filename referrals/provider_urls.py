from django.urls import path

from referrals import provider_views

app_name = "provider"
urlpatterns = [
    # Any token reaches the view, so that a malformed one is answered (and audited) the
    # same way as an unknown, expired or revoked one.
    path("<path:token>/", provider_views.provider_link, name="link"),
]
