from django.urls import include, path

from followups import views

app_name = "followups"
urlpatterns = [
    path("today/", views.today, name="today"),
    path("protocols/", include("followups.protocol_urls")),
]
