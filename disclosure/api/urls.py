"""API routes, mounted at /api/. Namespaced, so their names never shadow the pages' names."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import MeView, OrganizationListView

from .views import AdvisoryViewSet, FindingViewSet

app_name = "api"

router = SimpleRouter()
router.register("findings", FindingViewSet, basename="finding")
router.register("advisories", AdvisoryViewSet, basename="advisory")

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("organizations/", OrganizationListView.as_view(), name="organization-list"),
    *router.urls,
]
