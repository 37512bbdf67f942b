from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from statements.sitemaps import SITEMAPS, robots_txt

admin.site.site_header = _("CSTO Statements Archive — editorial desk")
admin.site.site_title = _("Editorial desk")
admin.site.index_title = _("Editing the archive")

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path(
        "sitemap.xml",
        sitemap_views.index,
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap-section"},
        name="sitemap-index",
    ),
    path(
        "sitemap-<section>.xml",
        sitemap_views.sitemap,
        {"sitemaps": SITEMAPS},
        name="sitemap-section",
    ),
    path("robots.txt", robots_txt, name="robots-txt"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("statements.urls")),
]

# Django's own 400, 403 and 404 views, with templates/400.html, 403.html and 404.html,
# and the page policies added even when the error is raised in a middleware outside the
# one that adds them. A server error is the standalone templates/500.html, or
# templates/503.html when the database cannot be reached
# (statements.middleware.DatabaseUnavailableMiddleware).
handler400 = "statements.middleware.bad_request"
handler403 = "statements.middleware.permission_denied"
handler404 = "statements.middleware.page_not_found"
handler500 = "statements.middleware.server_error"
