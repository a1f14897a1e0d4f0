from rest_framework.routers import SimpleRouter

from attachments.api.views import AttachmentViewSet

router = SimpleRouter()
router.register("attachments", AttachmentViewSet, basename="api-attachment")

urlpatterns = router.urls
