app_name = "provider"
urlpatterns = []
