"""sitemap.xml and robots.txt: what search engines should index, and what not.

The sitemap lists every published release by its permalink, the topics and
the sources; robots.txt points to it and keeps crawlers out of the admin,
the exports and the endless combinations of listing filters.
"""

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.http import HttpResponse
from django.urls import reverse

from .models import Release, Source, Topic


class ReleaseSitemap(Sitemap):
    changefreq = "monthly"
    limit = 10000

    def items(self):
        return Release.objects.published().only("public_id", "updated_at").order_by("public_id")

    def lastmod(self, release):
        return release.updated_at


class TopicSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        return Topic.objects.only("slug").order_by("slug")


class SourceSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        return (
            Source.objects.filter(releases__status=Release.Status.PUBLISHED)
            .distinct()
            .order_by("slug")
        )


class PageSitemap(Sitemap):
    changefreq = "daily"

    def items(self):
        return ["statements:home", "statements:release-list", "statements:position-list",
                "statements:topic-list"]  # fmt: skip

    def location(self, name):
        return reverse(name)


SITEMAPS = {
    "pages": PageSitemap,
    "releases": ReleaseSitemap,
    "topics": TopicSitemap,
    "sources": SourceSitemap,
}


def robots_txt(request):
    base = settings.SITE_URL or f"{request.scheme}://{request.get_host()}"
    lines = [
        "User-agent: *",
        f"Disallow: /{settings.ADMIN_URL}",
        "Disallow: /i18n/",
        "Disallow: /language/",
        "Disallow: /releases/export",
        "Disallow: /positions/export",
        # Listing filters combine without end: the sitemap lists what to index.
        "Disallow: /releases/?",
        "Disallow: /positions/?",
        "",
        f"Sitemap: {base}{reverse('sitemap-index')}",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
