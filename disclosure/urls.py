from django.urls import path

from .views import attachments as attachment_views
from .views import content as content_views
from .views import credits as credit_views
from .views import discussion as discussion_views
from .views import findings as views
from .views import search as search_views
from .views import triage as triage_views

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
    path("advisories/", views.advisory_list, name="advisory-list"),
    path("advisories/<str:reference>/", views.advisory_detail, name="advisory-detail"),
]
