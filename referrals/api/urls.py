from rest_framework.routers import SimpleRouter

from referrals.api.views import ConsentViewSet, ReferralViewSet

router = SimpleRouter()
router.register("referrals", ReferralViewSet, basename="api-referral")
router.register("consents", ConsentViewSet, basename="api-consent")

urlpatterns = router.urls
