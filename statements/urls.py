from django.urls import path, re_path, register_converter

from . import exports, views
from .converters import UnicodeSlugConverter

register_converter(UnicodeSlugConverter, "uslug")

app_name = "statements"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("releases/", views.ReleaseListView.as_view(), name="release-list"),
    path("positions/", views.PositionListView.as_view(), name="position-list"),
    re_path(
        r"^(?P<listing>releases|positions)/export\.(?P<fmt>csv|json)$",
        exports.export,
        name="export",
    ),
    path("releases/feed/", exports.ReleaseFeed(), name="release-feed"),
    path("positions/feed/", exports.PositionFeed(), name="position-feed"),
    path("r/<int:public_id>/", views.ReleaseDetailView.as_view(), name="release-detail"),
    path(
        "r/<int:public_id>/v/<int:number>/",
        views.ReleaseVersionView.as_view(),
        name="release-version",
    ),
    path("r/<int:public_id>/changes/", views.ReleaseChangesView.as_view(), name="release-changes"),
    re_path(
        r"^r/(?P<public_id>[0-9]{1,18})/cite\.(?P<fmt>bib|ris|json)$",
        views.citation_download,
        name="release-citation",
    ),
    path("r/<int:public_id>/p/<int:number>/", views.passage, name="passage"),
    path("r/<int:public_id>/<uslug:slug>/", views.release_slug, name="release-slug"),
    path("topics/", views.TopicListView.as_view(), name="topic-list"),
    path("topics/<slug:slug>/", views.TopicDetailView.as_view(), name="topic-detail"),
    path("sources/<uslug:slug>/", views.SourceDetailView.as_view(), name="source-detail"),
    path("language/<str:code>/", views.switch_language, name="switch-language"),
    path("healthz/", views.healthz, name="healthz"),
]
