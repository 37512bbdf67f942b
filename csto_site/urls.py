from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("CSTO Statements Archive — editorial desk")
admin.site.site_title = _("Editorial desk")
admin.site.index_title = _("Editing the archive")

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("statements.urls")),
]
