"""Merging duplicates: the same text imported twice, or two outlets' identical copies.

The duplicate is not deleted: it becomes "merged" and points to the release
kept, so every permalink it ever had (``/r/<id>/``, its versions, its
passages, its citation files) answers 301 to the kept release. Each of its
positions is matched to a position of the kept release on the same passage,
or copied there (with its stance, topics, summary and note) when the kept
release has the passage but not the position; the map old number → kept
number is stored, so ``/r/<duplicate>/p/3/`` lands on the right passage.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from . import anchoring
from .models import Position, Release

MAX_CHAIN = 20  # a merged release merged again: followed this far, then refused


def final_target(release):
    """The release a merged duplicate leads to (following later merges)."""
    seen = 0
    while release.status == Release.Status.MERGED and release.merged_into_id:
        release = Release.objects.select_related("source").get(pk=release.merged_into_id)
        seen += 1
        if seen > MAX_CHAIN:
            break
    return release


def merge(duplicate, kept):
    """Merge ``duplicate`` into ``kept``; returns the position numbers that could not be
    placed in the kept text (their passage is not in it)."""
    with transaction.atomic():
        duplicate = Release.objects.select_for_update().get(pk=duplicate.pk)
        kept = Release.objects.select_for_update().get(pk=kept.pk)
        if duplicate.pk == kept.pk:
            raise ValidationError(_("A release cannot be merged into itself."))
        if duplicate.status == Release.Status.MERGED:
            raise ValidationError(_("This release was already merged."))
        if kept.status in (Release.Status.MERGED, Release.Status.WITHDRAWN):
            raise ValidationError(
                _("The release to keep is %(status)s; choose the release it leads to.")
                % {"status": kept.get_status_display()}
            )
        mapping, unplaced = {}, []
        existing = list(kept.positions.filter(orphaned=False))
        for position in duplicate.positions.prefetch_related("topics").order_by("number"):
            match = next(
                (
                    p
                    for p in existing
                    if (p.start, p.end, p.quote) == (position.start, position.end, position.quote)
                    and p.stance == position.stance
                ),
                None,
            )
            if match is None:
                match = _copy_into(position, kept)
                if match is None:
                    unplaced.append(position.number)
                    continue
                existing.append(match)
            mapping[str(position.number)] = match.number
        duplicate.status = Release.Status.MERGED
        duplicate.merged_into = kept
        duplicate.merged_positions = mapping
        duplicate.save()
    return unplaced


def _copy_into(position, kept):
    """A copy of ``position`` on the same passage of ``kept``'s text, or None if the
    passage cannot be told there (statements.anchoring: at the same offsets, else the one
    occurrence, or the one whose surroundings match best)."""
    how, start, end = anchoring.place(
        kept.body, position.start, position.end, position.quote, position.prefix, position.suffix
    )
    if how == anchoring.ORPHANED:
        return None
    copy = Position(
        release=kept,
        start=start,
        end=end,
        quote=position.quote,
        stance=position.stance,
        summary=position.summary,
        attribution=position.attribution,
        note=position.note,
    )
    copy.save()
    copy.topics.set(position.topics.all())
    return copy


def passage_map(duplicate):
    """{old number (str): number in the final release} for a merged duplicate, following
    later merges of the release it was merged into."""
    mapping = {key: value for key, value in duplicate.merged_positions.items()}
    release, seen = duplicate, 0
    while release.merged_into_id and seen < MAX_CHAIN:
        release = Release.objects.get(pk=release.merged_into_id)
        if release.status != Release.Status.MERGED:
            break
        onward = release.merged_positions
        mapping = {k: onward[str(v)] for k, v in mapping.items() if str(v) in onward}
        seen += 1
    return mapping
