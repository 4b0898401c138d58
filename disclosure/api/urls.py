"""API routes, mounted at /api/. Namespaced, so their names never shadow the pages' names."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts import api_openpgp, api_registry
from accounts.api import MeView, OrganizationListView

from . import (
    attachments,
    audience,
    audit,
    credits,
    discussion,
    readiness,
    revisions,
    stages,
    taxonomies,
    triage,
)
from . import deliveries as outbox
from .calendar import urlpatterns as calendar_urls
from .embargo import urlpatterns as embargo_urls
from .health import HealthView
from .publication import AdvisoryCsafView, AdvisoryUpdatesView
from .views import AdvisoryViewSet, FindingViewSet
from .webhooks import urlpatterns as webhook_urls

app_name = "api"

router = SimpleRouter()
router.register("findings", FindingViewSet, basename="finding")
router.register("advisories", AdvisoryViewSet, basename="advisory")
router.register("taxonomies", taxonomies.TaxonomyViewSet, basename="taxonomy")

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("me/", MeView.as_view(), name="me"),
    path("me/openpgp-key/", api_openpgp.MyOpenPGPKeyView.as_view(), name="me-openpgp-key"),
    path("organizations/", OrganizationListView.as_view(), name="organization-list"),
    # The defender registry: applications, verification, profiles, contacts, subscriptions.
    *api_registry.urlpatterns,
    # An organization's webhook endpoints (its admins).
    *webhook_urls,
    # A defender organization's private calendar feeds (its admins).
    *calendar_urls,
    # The embargo (proposal, end, break, extension requests) and the finding's timeline.
    *embargo_urls,
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
    # Audience and readiness (issue 4).
    path(
        "findings/<str:reference>/audience/proposal/",
        audience.AudienceProposalView.as_view(),
        name="finding-audience-proposal",
    ),
    path(
        "findings/<str:reference>/audience/",
        audience.AudienceView.as_view(),
        name="finding-audience",
    ),
    path(
        "findings/<str:reference>/recipients/",
        audience.RecipientsView.as_view(),
        name="finding-recipients",
    ),
    path(
        "findings/<str:reference>/readiness/",
        readiness.ReadinessView.as_view(),
        name="finding-readiness",
    ),
    # The staged release plan (issue 5).
    path(
        "findings/<str:reference>/release-plan/",
        stages.ReleasePlanView.as_view(),
        name="finding-release-plan",
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
    # The delivery outbox (coordinators) and your in-app inbox.
    path("deliveries/", outbox.DeliveryListView.as_view(), name="delivery-list"),
    path(
        "deliveries/<int:pk>/retry/",
        outbox.DeliveryRetryView.as_view(),
        name="delivery-retry",
    ),
    path("inbox/", outbox.InboxView.as_view(), name="inbox"),
    path("inbox/read-all/", outbox.InboxReadAllView.as_view(), name="inbox-read-all"),
    path("inbox/<int:pk>/read/", outbox.InboxReadView.as_view(), name="inbox-read"),
    # The whole audit trail (coordinators).
    path("audit/", audit.AuditTrailView.as_view(), name="audit-trail"),
    # Publication: an advisory's CSAF document, and updates after the release.
    path(
        "advisories/<str:reference>/csaf/",
        AdvisoryCsafView.as_view(),
        name="advisory-csaf",
    ),
    path(
        "advisories/<str:reference>/updates/",
        AdvisoryUpdatesView.as_view(),
        name="advisory-updates",
    ),
    *router.urls,
]
