from django.urls import path

from .views import findings as views

urlpatterns = [
    path("", views.home, name="home"),
    # Before the detail route, which would otherwise read "new" as a reference.
    path("findings/new/", views.finding_new, name="finding-new"),
    path("findings/<str:reference>/", views.finding_detail, name="finding-detail"),
    path("findings/<str:reference>/submit/", views.finding_submit, name="finding-submit"),
    path("findings/<str:reference>/accept/", views.finding_accept, name="finding-accept"),
    path("findings/<str:reference>/reject/", views.finding_reject, name="finding-reject"),
    path(
        "findings/<str:reference>/acknowledge/",
        views.finding_acknowledge,
        name="finding-acknowledge",
    ),
    path("advisories/", views.advisory_list, name="advisory-list"),
    path("advisories/<str:reference>/", views.advisory_detail, name="advisory-detail"),
]
