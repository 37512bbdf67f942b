"""Keep the public listings' copies in step with edits that do not go through a save().

``Release.save`` and ``Position.save`` refresh the copies themselves
(statements.listing.refresh); these handlers cover the rest: topics added to
or removed from a position (from either side), positions and releases
deleted, relays and the codebook changed.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from . import counts, listing, versions
from .models import Position, Release, Source, Topic

PositionTopics = Position.topics.through
RelayLinks = Release.relayed_from.through


@receiver(m2m_changed, sender=PositionTopics, dispatch_uid="statements-position-topics")
def position_topics_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action == "pre_clear" and reverse:
        # topic.positions.clear(): the positions are gone from the link table afterwards.
        instance._cleared_releases = list(
            Position.objects.filter(topics=instance).values_list("release_id", flat=True)
        )
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        listing.refresh([instance.release_id])
    elif action == "post_clear":
        listing.refresh(set(getattr(instance, "_cleared_releases", [])))
    else:
        releases = Position.objects.filter(pk__in=pk_set).values_list("release_id", flat=True)
        listing.refresh(set(releases))


@receiver(m2m_changed, sender=RelayLinks, dispatch_uid="statements-relays")
def relays_changed(sender, instance, action, reverse, pk_set, **kwargs):
    # Relays are not copied, but the source facet counts them, and versions show them.
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    releases = list(pk_set or ()) if reverse else [instance.pk]
    if reverse and action == "post_clear":
        releases = getattr(instance, "_cleared_relays", [])
    counts.recount(releases)
    listing.changed()
    for release_id in releases:
        versions.note_change(release_id)


@receiver(m2m_changed, sender=RelayLinks, dispatch_uid="statements-relays-clear")
def relays_clearing(sender, instance, action, reverse, **kwargs):
    if action == "pre_clear" and reverse:  # source.relayed.clear(): which releases lose it
        instance._cleared_relays = list(
            RelayLinks.objects.filter(source=instance).values_list("release_id", flat=True)
        )


@receiver(post_delete, sender=Position, dispatch_uid="statements-position-deleted")
def position_deleted(sender, instance, **kwargs):
    # Its listing entries go with it (ON DELETE CASCADE); the counts change.
    counts.recount([instance.release_id])
    listing.changed()
    versions.note_change(instance.release_id)


@receiver(post_delete, sender=Release, dispatch_uid="statements-release-deleted")
def release_deleted(sender, instance, **kwargs):
    counts.forget([instance.pk])
    listing.changed()


@receiver(pre_delete, sender=Source, dispatch_uid="statements-source-deleting")
def source_deleting(sender, instance, **kwargs):
    # Its relay links go by cascade, which sends no m2m_changed: note whose counts change.
    instance._relayed = list(
        RelayLinks.objects.filter(source=instance).values_list("release_id", flat=True)
    )


@receiver(post_delete, sender=Source, dispatch_uid="statements-source-deleted")
def source_deleted(sender, instance, **kwargs):
    counts.recount(getattr(instance, "_relayed", []))
    listing.changed()


@receiver(post_save, sender=Source, dispatch_uid="statements-source-saved")
def source_changed(sender, **kwargs):
    # Source names are on public pages and in citations.
    listing.changed()


@receiver(pre_save, sender=Topic, dispatch_uid="statements-topic-saving")
def codebook_saving(sender, instance, **kwargs):
    instance._old_parent_id = (
        Topic.objects.filter(pk=instance.pk).values_list("parent_id", flat=True).first()
        if instance.pk
        else None
    )


@receiver(post_delete, sender=Topic, dispatch_uid="statements-topic-deleted")
@receiver(post_save, sender=Topic, dispatch_uid="statements-topic-saved")
def codebook_changed(sender, instance, created=False, **kwargs):
    # A broader topic's counts include its narrower topics': a new parent, or a topic
    # gone, changes them.
    moved = not created and getattr(instance, "_old_parent_id", None) != instance.parent_id
    if moved or kwargs.get("signal") is post_delete:
        counts.rebuild()
    listing.changed()
