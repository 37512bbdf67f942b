from django.conf import settings
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "أرشيف بيانات منظمة معاهدة الأمن الجماعي — التحرير"
admin.site.site_title = "تحرير الأرشيف"
admin.site.index_title = "لوحة التحرير"

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("statements.urls")),
]
