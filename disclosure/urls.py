from django.urls import path
from django.views.decorators.cache import cache_control

from .feeds import AdvisoryFeed
from .views import advisory_update as advisory_update_views
from .views import attachments as attachment_views
from .views import audience as audience_views
from .views import audit as audit_views
from .views import calendar as calendar_views
from .views import content as content_views
from .views import credits as credit_views
from .views import csaf as csaf_views
from .views import deliveries as delivery_views
from .views import discussion as discussion_views
from .views import embargo as embargo_views
from .views import findings as views
from .views import openpgp as openpgp_views
from .views import search as search_views
from .views import stages as stage_views
from .views import triage as triage_views
from .views import webhooks as webhook_views

urlpatterns = [
    path("", views.home, name="home"),
    # Before the detail route, which would otherwise read "new" as a reference.
    path("findings/new/", content_views.finding_new, name="finding-new"),
    path("findings/", search_views.finding_list, name="finding-list"),
    path("findings/<str:reference>/", views.finding_detail, name="finding-detail"),
    path("findings/<str:reference>/edit/", content_views.finding_edit, name="finding-edit"),
    path("findings/<str:reference>/credits/", credit_views.credit_add, name="finding-credit-add"),
    path("credits/<int:pk>/accept/", credit_views.credit_accept, name="credit-accept"),
    path("credits/<int:pk>/decline/", credit_views.credit_decline, name="credit-decline"),
    path("findings/<str:reference>/submit/", views.finding_submit, name="finding-submit"),
    path("findings/<str:reference>/accept/", views.finding_accept, name="finding-accept"),
    path("findings/<str:reference>/reject/", views.finding_reject, name="finding-reject"),
    path(
        "findings/<str:reference>/acknowledge/",
        views.finding_acknowledge,
        name="finding-acknowledge",
    ),
    # Audience and readiness.
    path(
        "findings/<str:reference>/readiness/",
        audience_views.finding_readiness,
        name="finding-readiness",
    ),
    path(
        "findings/<str:reference>/audience/add/",
        audience_views.finding_audience_add,
        name="finding-audience-add",
    ),
    path(
        "findings/<str:reference>/audience/remove/",
        audience_views.finding_audience_remove,
        name="finding-audience-remove",
    ),
    # The staged release plan (coordinators change it).
    path(
        "findings/<str:reference>/release-plan/",
        stage_views.finding_release_plan,
        name="finding-release-plan",
    ),
    path(
        "findings/<str:reference>/attachments/",
        attachment_views.attachment_add,
        name="finding-attachment-add",
    ),
    path(
        "findings/<str:reference>/attachments/<int:pk>/",
        attachment_views.attachment_download,
        name="finding-attachment",
    ),
    path(
        "findings/<str:reference>/attachments/<int:pk>/remove/",
        attachment_views.attachment_remove,
        name="finding-attachment-remove",
    ),
    # Triage: the coordinators' queue and the triage panel's actions.
    path("triage/", triage_views.triage_queue, name="triage-queue"),
    *(
        path(f"findings/<str:reference>/{name}/", view, name=f"finding-{name}")
        for name, view in (
            ("start-triage", triage_views.finding_start_triage),
            ("request-info", triage_views.finding_request_info),
            ("provide-info", triage_views.finding_provide_info),
            ("duplicate", triage_views.finding_duplicate),
            ("withdraw", triage_views.finding_withdraw),
            ("assign", triage_views.finding_assign),
        )
    ),
    # The embargo panel's actions, and the finding's timeline.
    *(
        path(f"findings/<str:reference>/embargo/{name}/", view, name=f"finding-embargo-{name}")
        for name, view in (
            ("propose", embargo_views.embargo_propose),
            ("end", embargo_views.embargo_end),
            ("break", embargo_views.embargo_break),
            ("extensions", embargo_views.extension_request),
        )
    ),
    *(
        path(
            f"findings/<str:reference>/embargo/extensions/<int:pk>/{decision}/",
            embargo_views.extension_decide,
            {"decision": decision},
            name=f"finding-embargo-extension-{decision}",
        )
        for decision in ("approve", "deny", "withdraw")
    ),
    path(
        "findings/<str:reference>/timeline/",
        embargo_views.finding_timeline,
        name="finding-timeline",
    ),
    # Discussion threads.
    path(
        "findings/<str:reference>/threads/",
        discussion_views.thread_open,
        name="finding-thread-open",
    ),
    path(
        "threads/<int:thread_id>/comments/",
        discussion_views.comment_post,
        name="thread-comment-post",
    ),
    # The delivery outbox (coordinators) and the in-app inbox.
    path("deliveries/", delivery_views.delivery_failures, name="delivery-failures"),
    path("deliveries/<int:pk>/retry/", delivery_views.delivery_retry, name="delivery-retry"),
    path("inbox/", delivery_views.inbox, name="inbox"),
    path("inbox/read-all/", delivery_views.inbox_read_all, name="inbox-read-all"),
    path("inbox/<int:pk>/", delivery_views.inbox_open, name="inbox-open"),
    # The whole audit trail (coordinators): browse, filter, export.
    path("audit/", audit_views.audit_trail, name="audit-trail"),
    *(
        path(
            f"audit/export.{fmt}",
            audit_views.audit_export,
            {"fmt": fmt},
            name=f"audit-export-{fmt}",
        )
        for fmt in ("csv", "json")
    ),
    # An organization's webhook endpoints (its admins).
    path(
        "organizations/<slug:slug>/webhooks/",
        webhook_views.organization_webhooks,
        name="organization-webhooks",
    ),
    *(
        path(
            f"organizations/<slug:slug>/webhooks/<int:pk>/{name}/",
            view,
            name=f"organization-webhook-{name}",
        )
        for name, view in (
            ("rotate", webhook_views.webhook_rotate),
            ("test", webhook_views.webhook_test),
            ("disable", webhook_views.webhook_disable),
            ("enable", webhook_views.webhook_enable),
            ("delete", webhook_views.webhook_delete),
        )
    ),
    # Private calendar feeds: the feed (its token is the credential) and its admins' page.
    path("calendar/<str:token>.ics", calendar_views.calendar_feed, name="calendar-feed"),
    path(
        "organizations/<slug:slug>/calendar/",
        calendar_views.organization_calendar,
        name="organization-calendar",
    ),
    path(
        "organizations/<slug:slug>/calendar/<int:pk>/revoke/",
        calendar_views.calendar_feed_revoke,
        name="organization-calendar-revoke",
    ),
    path("advisories/", views.advisory_list, name="advisory-list"),
    # Publication: the Atom feed (before the detail route, which would read "feed" as a
    # reference) and the CSAF 2.0 provider files.
    path(
        "advisories/feed/",
        cache_control(public=True, max_age=300)(AdvisoryFeed()),
        name="advisory-feed",
    ),
    path("advisories/<str:reference>/", views.advisory_detail, name="advisory-detail"),
    path(
        "advisories/<str:reference>/update/",
        advisory_update_views.advisory_update,
        name="advisory-update",
    ),
    path(
        ".well-known/csaf/provider-metadata.json",
        csaf_views.provider_metadata,
        name="csaf-provider-metadata",
    ),
    path(".well-known/csaf/white/index.txt", csaf_views.index_txt, name="csaf-index"),
    path(".well-known/csaf/white/changes.csv", csaf_views.changes_csv, name="csaf-changes"),
    path(
        ".well-known/csaf/white/forewarn-feed.json",
        csaf_views.rolie_feed,
        name="csaf-rolie-feed",
    ),
    path(
        ".well-known/csaf/white/<int:year>/<str:filename>",
        csaf_views.csaf_file,
        name="csaf-file",
    ),
    # The site's OpenPGP key, to verify signed email (also by Web Key Directory).
    path("openpgp-key.asc", openpgp_views.site_key_armored, name="site-openpgp-key"),
    path(".well-known/openpgpkey/hu/<str:digest>", openpgp_views.wkd_key, name="wkd-key"),
    path(".well-known/openpgpkey/policy", openpgp_views.wkd_policy, name="wkd-policy"),
]
