"""The starter codebook: themes, places and actors of CSTO statements.

Each row: slug, kind, Arabic name, English name, parent slug, aliases (other
spellings, including the seeds' irregular ones such as كازخستان). Editors
extend the codebook in the admin; slugs are part of public URLs and stay.
Reversing removes only the topics this migration created and nobody used.
"""

from django.db import migrations

THEME, PLACE, ACTOR = "theme", "place", "actor"

CODEBOOK = [
    # Themes
    ("counter-terrorism", THEME, "مكافحة الإرهاب", "Counter-terrorism", None,
     ["الإرهاب", "الارهاب", "الجماعات الإرهابية", "terrorism"]),
    ("foreign-terrorist-fighters", THEME, "المقاتلون الإرهابيون الأجانب",
     "Foreign terrorist fighters", "counter-terrorism",
     ["الإرهابيون الأجانب", "عودة الإرهابيين", "foreign fighters"]),
    ("terrorist-financing", THEME, "تمويل الإرهاب", "Terrorist financing", "counter-terrorism",
     ["تجفيف منابع الإرهاب"]),
    ("countering-extremism", THEME, "مكافحة التطرف", "Countering extremism", None,
     ["التطرف", "أيديولوجيا التطرف", "extremism"]),
    ("counter-narcotics", THEME, "مكافحة المخدرات", "Counter-narcotics", None,
     ["المخدرات", "تهريب المخدرات", "إنتاج المخدرات", "drugs", "drug trafficking"]),
    ("arms-control", THEME, "الحد من التسلح", "Arms control", None,
     ["مراقبة التسلح", "ضبط التسلح", "نزع السلاح"]),
    ("inf-treaty", THEME, "معاهدة الصواريخ متوسطة وقصيرة المدى", "INF Treaty", "arms-control",
     ["معاهدة التخلص من الصواريخ متوسطة وقصيرة المدى", "INF"]),
    ("non-proliferation", THEME, "عدم انتشار الأسلحة النووية", "Nuclear non-proliferation",
     "arms-control", ["عدم الانتشار", "معاهدة عدم الانتشار", "NPT"]),
    ("political-settlement", THEME, "التسوية السياسية", "Political settlement", None,
     ["الحل السياسي", "تسوية سلمية", "الحوار السياسي"]),
    ("two-state-solution", THEME, "حل الدولتين", "Two-state solution", "political-settlement",
     ["مبدأ الدولتين"]),
    ("arab-peace-initiative", THEME, "مبادرة السلام العربية", "Arab Peace Initiative",
     "political-settlement", []),
    ("ceasefire", THEME, "وقف إطلاق النار", "Ceasefire", "political-settlement",
     ["وقف اطلاق النار", "هدنة"]),
    ("sovereignty", THEME, "السيادة ووحدة الأراضي", "Sovereignty and territorial integrity", None,
     ["السيادة", "وحدة الأراضي", "سلامة الأراضي", "territorial integrity"]),
    ("non-interference", THEME, "عدم التدخل في الشؤون الداخلية",
     "Non-interference in internal affairs", "sovereignty",
     ["عدم التدخل", "الشئون الداخلية", "التدخل الخارجي"]),
    ("refugees", THEME, "اللاجئون", "Refugees", None, ["اللاجئين", "النازحون", "النازحين"]),
    ("humanitarian-assistance", THEME, "المساعدات الإنسانية", "Humanitarian assistance", None,
     ["المساعدة الإنسانية", "الإغاثة"]),
    ("international-law", THEME, "القانون الدولي", "International law", None,
     ["الشرعية الدولية", "قرارات مجلس الأمن"]),
    ("collective-defence", THEME, "الدفاع الجماعي", "Collective defence", None,
     ["القدرات الدفاعية", "التعاون العسكري", "الأمن الجماعي"]),
    ("peacekeeping", THEME, "حفظ السلام", "Peacekeeping", None, ["قوات حفظ السلام"]),
    ("regional-stability", THEME, "الاستقرار الإقليمي والدولي", "Regional and international stability",
     None, ["الاستقرار الإقليمي", "الاستقرار الدولي", "الأمن الإقليمي"]),
    ("foreign-policy-coordination", THEME, "تنسيق السياسة الخارجية", "Foreign policy coordination",
     None, ["تنسيق المواقف", "التعاون البناء"]),
    ("democratic-transition", THEME, "التحول الديمقراطي", "Democratic transition", None,
     ["الحكومة الانتقالية", "المرحلة الانتقالية"]),
    ("information-security", THEME, "أمن المعلومات", "Information security", None,
     ["الأمن السيبراني", "الأمن المعلوماتي", "cybersecurity"]),
    ("illegal-migration", THEME, "الهجرة غير الشرعية", "Illegal migration", None,
     ["الهجرة غير النظامية"]),
    ("border-security", THEME, "أمن الحدود", "Border security", None, ["حماية الحدود"]),
    # Places
    ("middle-east", PLACE, "الشرق الأوسط", "Middle East", None, ["الشرق الاوسط"]),
    ("north-africa", PLACE, "شمال أفريقيا", "North Africa", None, ["شمال إفريقيا", "شمال افريقيا"]),
    ("central-asia", PLACE, "آسيا الوسطى", "Central Asia", None, ["اسيا الوسطى"]),
    ("syria", PLACE, "سورية", "Syria", "middle-east",
     ["سوريا", "الجمهورية العربية السورية", "Syrian Arab Republic"]),
    ("iraq", PLACE, "العراق", "Iraq", "middle-east", []),
    ("palestine", PLACE, "فلسطين", "Palestine", "middle-east",
     ["القضية الفلسطينية", "الأراضي الفلسطينية", "دولة فلسطين"]),
    ("yemen", PLACE, "اليمن", "Yemen", "middle-east", []),
    ("libya", PLACE, "ليبيا", "Libya", "north-africa", []),
    ("sudan", PLACE, "السودان", "Sudan", "north-africa", []),
    ("afghanistan", PLACE, "أفغانستان", "Afghanistan", None, ["افغانستان"]),
    ("kazakhstan", PLACE, "كازاخستان", "Kazakhstan", "central-asia",
     ["كازخستان", "قازاقستان", "Qazaqstan"]),
    ("kyrgyzstan", PLACE, "قرغيزستان", "Kyrgyzstan", "central-asia",
     ["قيرغيزستان", "قرغيزيا", "كيرغيزستان", "Kyrgyzia"]),
    ("tajikistan", PLACE, "طاجيكستان", "Tajikistan", "central-asia", ["طاجكستان"]),
    ("russia", PLACE, "روسيا", "Russia", None, ["روسيا الاتحادية", "الاتحاد الروسي"]),
    ("armenia", PLACE, "أرمينيا", "Armenia", None, ["ارمينيا", "أرمينيه"]),
    ("belarus", PLACE, "بيلاروس", "Belarus", None, ["بيلاروسيا", "روسيا البيضاء"]),
    ("ukraine", PLACE, "أوكرانيا", "Ukraine", None, ["اوكرانيا"]),
    # Actors
    ("csto", ACTOR, "منظمة معاهدة الأمن الجماعي", "Collective Security Treaty Organization", None,
     ["منظمة الأمن الجماعي", "CSTO", "ОДКБ"]),
    ("united-nations", ACTOR, "الأمم المتحدة", "United Nations", None,
     ["الامم المتحدة", "UN", "ООН"]),
    ("un-security-council", ACTOR, "مجلس الأمن الدولي", "UN Security Council", "united-nations",
     ["مجلس الأمن التابع للأمم المتحدة", "مجلس الامن الدولي"]),
    ("un-general-assembly", ACTOR, "الجمعية العامة للأمم المتحدة", "UN General Assembly",
     "united-nations", []),
    ("isis", ACTOR, "داعش", "ISIS", None,
     ["تنظيم الدولة", "الدولة الإسلامية", "ISIL", "Daesh"]),
    ("nusra-front", ACTOR, "جبهة النصرة", "Nusra Front", None, ["النصرة", "هيئة تحرير الشام"]),
    ("moscow-format", ACTOR, "صيغة موسكو", "Moscow format", None, ["صيغة موسكو للمحادثات"]),
    ("nato", ACTOR, "حلف شمال الأطلسي", "NATO", None, ["الناتو", "حلف الناتو"]),
    ("united-states", ACTOR, "الولايات المتحدة", "United States", None,
     ["الولايات المتحدة الأمريكية", "أمريكا", "USA"]),
    ("international-community", ACTOR, "المجتمع الدولي", "International community", None, []),
]


def add_codebook(apps, schema_editor):
    Topic = apps.get_model("statements", "Topic")
    by_slug = {}
    for slug, kind, name_ar, name_en, parent, aliases in CODEBOOK:
        topic, _ = Topic.objects.get_or_create(
            slug=slug,
            defaults={
                "kind": kind,
                "name_ar": name_ar,
                "name_en": name_en,
                "parent": by_slug.get(parent),
                "aliases": "\n".join(aliases),
            },
        )
        by_slug[slug] = topic


def remove_codebook(apps, schema_editor):
    Topic = apps.get_model("statements", "Topic")
    # Children first, and only topics no position uses.
    for slug, *_ in reversed(CODEBOOK):
        Topic.objects.filter(slug=slug, positions__isnull=True, children__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("statements", "0001_initial")]

    operations = [migrations.RunPython(add_codebook, remove_codebook)]
