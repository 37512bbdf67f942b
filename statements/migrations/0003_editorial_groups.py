"""The two editorial groups.

* editors (محررون): create and change sources, topics, releases and
  positions, and delete positions; they cannot publish, withdraw or change a
  published release.
* publishers (ناشرون): everything editors do, plus publish, correct, withdraw
  (the ``publish_release`` permission) and delete unpublished releases.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "editors"
PUBLISHERS = "publishers"

EDITOR_PERMISSIONS = [
    "view_source", "add_source", "change_source",
    "view_topic", "add_topic", "change_topic",
    "view_release", "add_release", "change_release",
    "view_position", "add_position", "change_position", "delete_position",
    "view_historicalrelease", "view_historicalposition",
]
PUBLISHER_PERMISSIONS = [*EDITOR_PERMISSIONS, "publish_release", "delete_release"]


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure those
    # of this app exist now.
    app_config = apps.get_app_config("statements")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ((EDITORS, EDITOR_PERMISSIONS), (PUBLISHERS, PUBLISHER_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(
            content_type__app_label="statements", codename__in=codenames
        )
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"permissions not found: {sorted(missing)}")
        group.permissions.add(*permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[EDITORS, PUBLISHERS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("statements", "0002_starter_codebook"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
