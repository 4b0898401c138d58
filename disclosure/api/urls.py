"""API routes, mounted at /api/. Namespaced, so their names never shadow the pages' names."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import MeView, OrganizationListView

from . import attachments, credits, discussion, revisions, taxonomies, triage
from .health import HealthView
from .views import AdvisoryViewSet, FindingViewSet

app_name = "api"

router = SimpleRouter()
router.register("findings", FindingViewSet, basename="finding")
router.register("advisories", AdvisoryViewSet, basename="advisory")
router.register("taxonomies", taxonomies.TaxonomyViewSet, basename="taxonomy")

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("me/", MeView.as_view(), name="me"),
    path("organizations/", OrganizationListView.as_view(), name="organization-list"),
    # Triage (issue 3): the queue and one explicit endpoint per workflow action.
    path("triage/queue/", triage.TriageQueueView.as_view(), name="triage-queue"),
    *(
        path(f"findings/<str:reference>/{name}/", view.as_view(), name=f"finding-{name}")
        for name, view in (
            ("start-triage", triage.StartTriageView),
            ("request-info", triage.RequestInfoView),
            ("provide-info", triage.ProvideInfoView),
            ("duplicate", triage.DuplicateView),
            ("withdraw", triage.WithdrawView),
            ("assign", triage.AssignView),
        )
    ),
    # Discussion threads.
    path(
        "findings/<str:reference>/threads/",
        discussion.FindingThreadsView.as_view(),
        name="finding-threads",
    ),
    path(
        "threads/<int:thread_id>/comments/",
        discussion.ThreadCommentsView.as_view(),
        name="thread-comments",
    ),
    # Evidence attachments.
    path(
        "findings/<str:reference>/attachments/",
        attachments.AttachmentListView.as_view(),
        name="finding-attachments",
    ),
    path(
        "findings/<str:reference>/attachments/<int:id>/",
        attachments.AttachmentDetailView.as_view(),
        name="finding-attachment",
    ),
    path(
        "findings/<str:reference>/attachments/<int:id>/download/",
        attachments.AttachmentDownloadView.as_view(),
        name="finding-attachment-download",
    ),
    # Finding content: sectors, credits, revisions.
    path("sectors/", taxonomies.SectorListView.as_view(), name="sector-list"),
    path(
        "findings/<str:reference>/credits/",
        credits.FindingCreditsView.as_view(),
        name="finding-credits",
    ),
    path("credits/", credits.MyCreditsView.as_view(), name="credit-list"),
    path("credits/<int:pk>/accept/", credits.CreditAcceptView.as_view(), name="credit-accept"),
    path("credits/<int:pk>/decline/", credits.CreditDeclineView.as_view(), name="credit-decline"),
    path(
        "findings/<str:reference>/revisions/",
        revisions.RevisionListView.as_view(),
        name="finding-revisions",
    ),
    path(
        "findings/<str:reference>/revisions/<int:number>/",
        revisions.RevisionDetailView.as_view(),
        name="finding-revision",
    ),
    *router.urls,
]
