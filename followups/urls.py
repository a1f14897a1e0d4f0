from django.urls import include, path

from followups import views

app_name = "followups"
urlpatterns = [
    path("today/", views.today, name="today"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/attempt/", views.attempt, name="attempt"),
    path("<int:pk>/attempts/<int:attempt_pk>/undo/", views.undo_attempt, name="undo_attempt"),
    path("<int:pk>/done/", views.complete, name="complete"),
    path("<int:pk>/move/", views.move, name="move"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/release/", views.release, name="release"),
    path("protocols/", include("followups.protocol_urls")),
]
