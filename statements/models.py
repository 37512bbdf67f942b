"""The archive's vocabulary: sources, releases, the topic codebook, positions.

Every rule that can be stated on one row is a named database constraint; the
rule that spans two rows (a position's quote is the release's text at its
offsets) is checked in :meth:`Position.save`, the one path that writes a
position. "Public" is defined once, by :func:`public_releases_q`, and used by
both QuerySets.
"""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.db.models.functions import Length
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from . import search as search_index
from . import text


def choices_check(field, choices_class, name):
    """A CheckConstraint that keeps ``field`` within the values of a TextChoices."""
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices_class.values}), name=name)


def listing():
    """statements.listing, which keeps the listings' copies of these records in step."""
    from . import listing as module

    return module


def localized(arabic, english):
    """The name to show in the interface language, and its language: English names
    in the English interface where one exists, Arabic otherwise."""
    if english and (get_language() or "ar").startswith("en"):
        return english, "en"
    return arabic, "ar"


def split_aliases(value):
    """Aliases are stored one per line; blank lines and surrounding spaces are ignored."""
    return [line.strip() for line in value.splitlines() if line.strip()]


class DatePrecision(models.TextChoices):
    DAY = "day", _("day")
    MONTH = "month", _("month")
    YEAR = "year", _("year")
    UNKNOWN = "unknown", _("unknown")


def date_precision_checks(prefix):
    """Constraints for a (date, precision, inferred) triple named ``prefix_on`` etc."""
    on, precision, inferred = f"{prefix}_on", f"{prefix}_precision", f"{prefix}_inferred"
    return [
        choices_check(precision, DatePrecision, f"%(app_label)s_%(class)s_{prefix}_prec_valid"),
        models.CheckConstraint(
            condition=(
                Q(**{precision: DatePrecision.UNKNOWN, f"{on}__isnull": True})
                | (~Q(**{precision: DatePrecision.UNKNOWN}) & Q(**{f"{on}__isnull": False}))
            ),
            name=f"%(app_label)s_%(class)s_{prefix}_date_iff_known",
        ),
        models.CheckConstraint(
            condition=Q(**{inferred: False}) | Q(**{f"{on}__isnull": False}),
            name=f"%(app_label)s_%(class)s_{prefix}_inferred_has_date",
        ),
    ]


def check_date_precision(value, precision, field_name):
    """Refuse a date more precise than its precision claims (2020-05-17 'known to the year').

    A date known to the month or year is stored as the first day of that month
    or year; a form must not silently move the editor's day.
    """
    if value is None:
        if precision != DatePrecision.UNKNOWN:
            raise ValidationError(
                {field_name: _("Give the date, or set its precision to unknown.")}
            )
        return
    if precision == DatePrecision.UNKNOWN:
        raise ValidationError({field_name: _("A date was given but its precision is unknown.")})
    if precision == DatePrecision.MONTH and value.day != 1:
        raise ValidationError(
            {field_name: _("A date known to the month is entered as the 1st of that month.")}
        )
    if precision == DatePrecision.YEAR and (value.month, value.day) != (1, 1):
        raise ValidationError(
            {field_name: _("A date known to the year is entered as 1 January of that year.")}
        )


class SourceKind(models.TextChoices):
    NEWS_AGENCY = "news_agency", _("news agency")
    NEWSPAPER = "newspaper", _("newspaper")
    BROADCASTER = "broadcaster", _("broadcaster")
    WEBSITE = "website", _("website")
    GOVERNMENT = "government", _("government or embassy")
    CSTO = "csto", _("CSTO itself")
    SOCIAL_MEDIA = "social_media", _("social media")


class Source(models.Model):
    Kind = SourceKind

    name = models.CharField(_("name (Arabic)"), max_length=200, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    slug = models.SlugField(
        _("slug"),
        max_length=200,
        unique=True,
        allow_unicode=True,
        help_text=_("Part of the source's public URL; Arabic letters are allowed."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.NEWS_AGENCY)
    country = models.CharField(_("country"), max_length=100, blank=True)
    homepage = models.URLField(_("homepage"), max_length=500, blank=True)
    aliases = models.TextField(
        _("aliases"),
        blank=True,
        help_text=_("Other names, one per line, as they appear in datelines (e.g. سانا for SANA)."),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["name"]
        constraints = [choices_check("kind", SourceKind, "%(app_label)s_source_kind_valid")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name, allow_unicode=True)[:200] or slugify(self.name_en)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("statements:source-detail", kwargs={"slug": self.slug})

    @property
    def alias_list(self):
        return split_aliases(self.aliases)

    @property
    def display_name(self):
        return localized(self.name, self.name_en)[0]

    @property
    def display_lang(self):
        return localized(self.name, self.name_en)[1]


class TopicKind(models.TextChoices):
    THEME = "theme", _("theme")
    PLACE = "place", _("place")
    ACTOR = "actor", _("actor")


class Topic(models.Model):
    """One entry of the codebook: a theme, a place or an actor."""

    Kind = TopicKind

    slug = models.SlugField(
        _("slug"),
        max_length=100,
        unique=True,
        help_text=_("Part of the topic's public URL (Latin letters); never change it."),
    )
    name_ar = models.CharField(_("name (Arabic)"), max_length=200, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("broader topic"),
        related_name="children",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    aliases = models.TextField(
        _("aliases"),
        blank=True,
        help_text=_("Other spellings and names, one per line (سوريا, Syria, ...)."),
    )
    description = models.TextField(_("scope note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["kind", "name_ar"]
        constraints = [
            choices_check("kind", TopicKind, "%(app_label)s_topic_kind_valid"),
            models.CheckConstraint(
                condition=~Q(parent=F("pk")), name="%(app_label)s_topic_not_own_parent"
            ),
        ]

    def __str__(self):
        return self.name_ar

    def get_absolute_url(self):
        return reverse("statements:topic-detail", kwargs={"slug": self.slug})

    @property
    def alias_list(self):
        return split_aliases(self.aliases)

    @property
    def display_name(self):
        return localized(self.name_ar, self.name_en)[0]

    @property
    def display_lang(self):
        return localized(self.name_ar, self.name_en)[1]

    def clean(self):
        ancestor, seen = self.parent, set()
        while ancestor is not None:
            if ancestor.pk == self.pk or ancestor.pk in seen:
                raise ValidationError({"parent": _("A topic cannot be its own ancestor.")})
            seen.add(ancestor.pk)
            ancestor = ancestor.parent

    def descendant_ids(self):
        """This topic's id and those of all its sub-topics (the codebook is small)."""
        return descendants(self.pk, children_of(Topic.objects.values_list("pk", "parent_id")))


def children_of(pairs):
    """Parent id → its children's ids, from (id, parent id) pairs."""
    children = {}
    for pk, parent_id in pairs:
        if parent_id:
            children.setdefault(parent_id, []).append(pk)
    return children


def descendants(pk, children):
    """``pk`` and every id below it, given ``children``: parent id → child ids."""
    ids, stack = [], [pk]
    while stack:
        current = stack.pop()
        ids.append(current)
        stack.extend(children.get(current, []))
    return ids


class PublicIdentifier(models.Model):
    """The register of every public identifier ever issued to a release.

    A row is written when an identifier is issued and never deleted, so an
    identifier cannot be issued twice: not after its release is deleted, not
    when a release is created with an explicit identifier (restore, tests).
    The database's primary key enforces it.
    """

    number = models.BigAutoField(primary_key=True)
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("public identifier")
        verbose_name_plural = _("public identifiers")

    def __str__(self):
        return str(self.number)


def public_releases_q(prefix=""):
    """The only definition of "public": a published release (and its positions)."""
    return Q(**{f"{prefix}status": Release.Status.PUBLISHED})


NEWEST_FIRST = (F("published_on").desc(nulls_last=True), "-public_id")

# Derived columns that are not part of a record's history.
SEARCH_COLUMNS = ["search_tokens", "search_folded", "search_version"]
LISTING_COPIES = [
    "is_public",
    "release_date",
    "release_precision",
    "release_public_id",
    "release_source",
    "issuing_body",
]


class ReleaseQuerySet(models.QuerySet):
    def published(self):
        return self.filter(public_releases_q())

    def withdrawn(self):
        """Withdrawn releases: no longer public, but their permalinks answer with a tombstone."""
        return self.filter(status=Release.Status.WITHDRAWN)

    def newest_first(self):
        """Newest publication date first, undated last (explicit: GROUP BY drops Meta.ordering)."""
        return self.order_by(*NEWEST_FIRST)


class ReleaseStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    IN_REVIEW = "review", _("in review")
    PUBLISHED = "published", _("published")
    WITHDRAWN = "withdrawn", _("withdrawn")
    MERGED = "merged", _("merged into another release")


class IssuingBody(models.TextChoices):
    COLLECTIVE_SECURITY_COUNCIL = "csc", _("Collective Security Council")
    FOREIGN_MINISTERS = "cfm", _("Council of Foreign Ministers")
    DEFENCE_MINISTERS = "cdm", _("Council of Defence Ministers")
    SECURITY_COUNCIL_SECRETARIES = "cssc", _("Committee of Secretaries of Security Councils")
    SECRETARY_GENERAL = "sg", _("Secretary-General")
    SECRETARIAT = "secretariat", _("Secretariat / press service")
    OTHER = "other", _("other body")
    UNKNOWN = "unknown", _("not stated")


class Release(models.Model):
    """One Arabic text as a source published it."""

    Status = ReleaseStatus
    SEARCHED_FIELDS = ("title", "body")  # analyzed into the search_* columns

    IssuingBody = IssuingBody

    public_id = models.PositiveBigIntegerField(
        _("public identifier"),
        unique=True,
        editable=False,
        help_text=_("The number in the release's permalink. Issued once, never reused."),
    )
    title = models.CharField(
        _("title"),
        max_length=500,
        blank=True,
        help_text=_("As the source gave it. Leave empty if the original has no title."),
    )
    body = models.TextField(
        _("text"),
        help_text=_("The Arabic text exactly as the source published it (after sanitation)."),
    )
    body_sha256 = models.CharField(_("text fingerprint (SHA-256)"), max_length=64, editable=False)
    import_key = models.CharField(
        _("import key"),
        max_length=2000,
        blank=True,
        editable=False,
        help_text=_(
            "How the importer recognizes this text on a second run: its original URL, or the "
            "fingerprint of the text as first imported. Kept when the text is corrected."
        ),
    )
    dateline = models.CharField(
        _("dateline"), max_length=200, blank=True, help_text=_("The place the text is dated from.")
    )
    section_label = models.CharField(
        _("section label"),
        max_length=100,
        blank=True,
        help_text=_("A label the source put before the text, such as متابعات."),
    )
    source = models.ForeignKey(
        Source, verbose_name=_("source"), related_name="releases", on_delete=models.PROTECT
    )
    relayed_from = models.ManyToManyField(
        Source,
        verbose_name=_("relayed from"),
        related_name="relayed_releases",
        blank=True,
        help_text=_("Sources the text says it came through (e.g. Sputnik)."),
    )
    url = models.URLField(_("original URL"), max_length=2000, blank=True)
    archived_url = models.URLField(_("archived copy URL"), max_length=2000, blank=True)
    issuing_body = models.CharField(
        _("issuing CSTO body"), max_length=20, choices=IssuingBody, default=IssuingBody.UNKNOWN
    )
    published_on = models.DateField(
        _("publication date"),
        null=True,
        blank=True,
        help_text=_("Known to the month or year only: enter the first day and set the precision."),
    )
    published_precision = models.CharField(
        _("publication date precision"),
        max_length=10,
        choices=DatePrecision,
        default=DatePrecision.UNKNOWN,
    )
    published_inferred = models.BooleanField(
        _("publication date inferred"),
        default=False,
        help_text=_("The text does not state this date; it was worked out (shown in brackets)."),
    )
    statement_on = models.DateField(_("statement date"), null=True, blank=True)
    statement_precision = models.CharField(
        _("statement date precision"),
        max_length=10,
        choices=DatePrecision,
        default=DatePrecision.UNKNOWN,
    )
    statement_inferred = models.BooleanField(_("statement date inferred"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.DRAFT, db_index=True
    )
    withdrawal_reason = models.TextField(_("public reason for withdrawal"), blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        related_name="merged_duplicates",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        help_text=_("The release this duplicate was merged into; its permalinks lead there."),
    )
    merged_positions = models.JSONField(
        _("merged positions"),
        default=dict,
        blank=True,
        editable=False,
        help_text=_("For each position number of this duplicate, its number in the kept release."),
    )
    first_published_at = models.DateTimeField(
        _("first published in the archive"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_position_number = models.PositiveIntegerField(default=0, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
    )
    published_at = models.DateTimeField(_("last published"), null=True, blank=True, editable=False)
    # Optimistic locking: every save moves it on; a save from a form loaded at
    # an older revision is refused (statements.editing.EditConflict).
    revision = models.PositiveIntegerField(_("revision"), default=1, editable=False)
    # Derived by the search analyzer from title and body (statements.analysis).
    search_tokens = models.TextField(default="", editable=False)
    search_folded = models.TextField(default="", editable=False)
    search_version = models.PositiveSmallIntegerField(default=0, editable=False)

    history = HistoricalRecords(m2m_fields=[relayed_from], excluded_fields=SEARCH_COLUMNS)
    objects = ReleaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        permissions = [("publish_release", _("Can publish, correct and withdraw releases"))]
        ordering = [F("published_on").desc(nulls_last=True), "-public_id"]
        constraints = [
            choices_check("status", ReleaseStatus, "%(app_label)s_release_status_valid"),
            choices_check("issuing_body", IssuingBody, "%(app_label)s_release_body_valid"),
            models.CheckConstraint(
                condition=~Q(status="withdrawn") | ~Q(withdrawal_reason=""),
                name="%(app_label)s_release_withdrawn_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status="merged", merged_into__isnull=False)
                | (~Q(status="merged") & Q(merged_into__isnull=True)),
                name="%(app_label)s_release_merged_iff_target",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=F("pk")), name="%(app_label)s_release_not_merged_into_self"
            ),
            models.CheckConstraint(
                condition=~Q(body=""), name="%(app_label)s_release_body_not_empty"
            ),
            models.UniqueConstraint(
                fields=["url"], condition=~Q(url=""), name="%(app_label)s_release_url_unique"
            ),
            models.UniqueConstraint(
                fields=["import_key"],
                condition=~Q(import_key=""),
                name="%(app_label)s_release_import_key_unique",
            ),
            *date_precision_checks("published"),
            *date_precision_checks("statement"),
        ]
        indexes = [
            models.Index(fields=["body_sha256"], name="release_body_sha256_idx"),
            models.Index(fields=["status", "published_on"], name="release_status_date_idx"),
        ]

    def __str__(self):
        return f"{self.public_id or '—'}: {self.display_title}"

    def save(self, *args, **kwargs):
        """Save, refusing a stale copy (optimistic locking) and re-anchoring positions.

        A save from an instance loaded at an older ``revision`` than the stored
        one raises :class:`EditConflict`: someone else saved in between, and
        writing this copy would silently undo their change. When the text
        changed, every position is placed again (statements.anchoring); what
        happened is left in ``self.anchoring`` for the editor.
        """
        self.anchoring = []
        adding = self._state.adding
        stored = (
            None if adding else Release.objects.filter(pk=self.pk).values("body", "status").first()
        )
        self.body_sha256 = self.fingerprint(self.body)
        if self.status == self.Status.PUBLISHED:
            if self.first_published_at is None:
                self.first_published_at = timezone.now()
            if stored is None or stored["status"] != self.Status.PUBLISHED:
                self.published_at = timezone.now()
        fields, surfaces = search_index.search_fields(
            *(getattr(self, name) for name in self.SEARCHED_FIELDS)
        )
        for name, value in fields.items():
            setattr(self, name, value)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {
                *kwargs["update_fields"], "body_sha256", "revision", "published_at", *fields
            }  # fmt: skip
        with transaction.atomic():
            if adding:
                self._issue_public_id()
            elif stored is not None:
                claim_revision(self)
            super().save(*args, **kwargs)
            if stored is not None and stored["body"] != self.body:
                self.anchoring = self._reanchor()
            search_index.record_terms(surfaces)
            listing().refresh([self.pk])

    def get_absolute_url(self):
        return reverse("statements:release-detail", kwargs={"public_id": self.public_id})

    def _reanchor(self):
        from . import anchoring

        positions = list(Position.objects.filter(release_id=self.pk))
        outcomes = anchoring.reanchor(self.body, positions)
        for position, outcome in zip(positions, outcomes, strict=True):
            position.release = self
            orphaned = outcome.how == anchoring.ORPHANED
            prefix, suffix = text.context(self.body, outcome.start, outcome.end)
            unchanged = (
                position.start == outcome.start
                and position.orphaned == orphaned
                and (orphaned or (position.prefix, position.suffix) == (prefix, suffix))
            )
            if unchanged:
                continue
            position.start, position.end, position.orphaned = (
                outcome.start, outcome.end, orphaned
            )  # fmt: skip
            position.save(update_fields=["start", "end", "orphaned", "prefix", "suffix"])
        return outcomes

    @staticmethod
    def fingerprint(body):
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    @property
    def has_title(self):
        return bool(self.title.strip())

    @property
    def display_title(self):
        """The title, or a bracketed description when the original had none.

        The description says what the text is (who spoke, where); it is marked
        with brackets so it is never taken for the source's own title.
        """
        return self.titled(self.title, self.dateline, self.body_label(self.issuing_body))

    @classmethod
    def body_label(cls, issuing_body):
        """What a bracketed title calls a text of ``issuing_body``, in the active language."""
        if issuing_body in (cls.IssuingBody.UNKNOWN, cls.IssuingBody.OTHER):
            return gettext("CSTO statement")
        shown = dict(cls.IssuingBody.choices).get(issuing_body, issuing_body)
        return gettext("Statement of the CSTO %(body)s") % {"body": shown}

    @staticmethod
    def titled(title, dateline, body_label):
        """:attr:`display_title` from its parts (an export computes each body's label once)."""
        if title.strip():
            return title
        if dateline:
            return f"[{body_label}{gettext(', ')}{dateline}]"
        return f"[{body_label}]"

    # Which status may follow which. A published text is never taken back
    # silently: it is withdrawn, with a public reason, and its permalink says so.
    TRANSITIONS = {
        ReleaseStatus.DRAFT: {
            ReleaseStatus.DRAFT,
            ReleaseStatus.IN_REVIEW,
            ReleaseStatus.PUBLISHED,
        },
        ReleaseStatus.IN_REVIEW: {
            ReleaseStatus.DRAFT,
            ReleaseStatus.IN_REVIEW,
            ReleaseStatus.PUBLISHED,
        },
        ReleaseStatus.PUBLISHED: {ReleaseStatus.PUBLISHED, ReleaseStatus.WITHDRAWN},
        ReleaseStatus.WITHDRAWN: {ReleaseStatus.WITHDRAWN, ReleaseStatus.PUBLISHED},
        # Only statements.merging merges; a merge is not undone by editing.
        ReleaseStatus.MERGED: {ReleaseStatus.MERGED},
    }

    def stored_status(self):
        if self.pk is None:
            return None
        return Release.objects.filter(pk=self.pk).values_list("status", flat=True).first()

    def orphaned_positions(self):
        if self.pk is None:
            return Position.objects.none()
        return Position.objects.filter(release_id=self.pk, orphaned=True).order_by("number")

    def editable_by(self, user):
        """Drafts and texts in review are edited by editors; what was published, by publishers.
        A merged duplicate is not edited: its content lives on in the release it was merged into."""
        if self.status == self.Status.MERGED:
            return False
        if self.status in (self.Status.DRAFT, self.Status.IN_REVIEW):
            return user.has_perm("statements.change_release")
        return user.has_perm("statements.publish_release")

    def clean(self):
        check_date_precision(self.published_on, self.published_precision, "published_on")
        check_date_precision(self.statement_on, self.statement_precision, "statement_on")
        if self.status == self.Status.WITHDRAWN and not self.withdrawal_reason.strip():
            raise ValidationError(
                {"withdrawal_reason": _("Give the public reason for withdrawing this release.")}
            )
        before = self.stored_status()
        if before is not None and self.status not in self.TRANSITIONS[before]:
            raise ValidationError(
                {
                    "status": _(
                        "A published release cannot go back to %(status)s: withdraw it, "
                        "with a public reason."
                    )
                    % {"status": self.get_status_display()}
                }
            )
        if self.status == self.Status.PUBLISHED and before != self.Status.PUBLISHED:
            orphans = [p.number for p in self.orphaned_positions().only("number")]
            if orphans:
                raise ValidationError(
                    {
                        "status": _(
                            "Positions %(list)s are orphaned (their passage is not in the "
                            "text): select their passages again, or delete them, before "
                            "publishing."
                        )
                        % {"list": ", ".join(f"#p{n}" for n in orphans)}
                    }
                )

    def _issue_public_id(self):
        if self.public_id is None:
            self.public_id = PublicIdentifier.objects.create().number
            return
        if PublicIdentifier.objects.filter(number=self.public_id).exists():
            raise ValidationError(
                {
                    "public_id": _(
                        "Public identifier %(id)s was issued before and cannot be reused."
                    )
                    % {"id": self.public_id}
                }
            )
        PublicIdentifier.objects.create(number=self.public_id)
        # An explicit number (a restore) must not be drawn again by the sequence.
        sql = connection.ops.sequence_reset_sql(no_style(), [PublicIdentifier])
        if sql:
            with connection.cursor() as cursor:
                for statement in sql:
                    cursor.execute(statement)

    def latest_version(self):
        """The current public version (a ReleaseVersion), or None before the first."""
        return self.versions.order_by("-number").first()

    def next_position_number(self):
        """Issue the next position number; numbers are never recycled, even after a deletion."""
        Release.objects.filter(pk=self.pk).update(
            last_position_number=F("last_position_number") + 1
        )
        self.refresh_from_db(fields=["last_position_number"])
        return self.last_position_number


POSITION_NEWEST_FIRST = (
    F("release__published_on").desc(nulls_last=True),
    "-release__public_id",
    "number",
)


class EditConflict(Exception):
    """A save from a copy older than the stored record: someone else saved in between."""

    def __init__(self, instance):
        self.instance = instance
        super().__init__(f"{instance._meta.label} {instance.pk} was changed by someone else")


def claim_revision(instance):
    """Move the stored revision on, if it is still the one ``instance`` was loaded at.

    One conditional UPDATE: of two concurrent saves from the same revision,
    exactly one matches the row; the other raises :class:`EditConflict`.
    """
    claimed = (
        type(instance)
        ._base_manager.filter(pk=instance.pk, revision=instance.revision)
        .update(revision=F("revision") + 1)
    )
    if not claimed:
        raise EditConflict(instance)
    instance.revision += 1


class PositionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(public_releases_q("release__"))

    def newest_first(self):
        """Positions of the newest releases first (undated last), in release order."""
        return self.order_by(*POSITION_NEWEST_FIRST)


class Stance(models.TextChoices):
    SUPPORTS = "supports", _("supports")
    WELCOMES = "welcomes", _("welcomes")
    AFFIRMS = "affirms", _("affirms")
    CALLS_FOR = "calls_for", _("calls for")
    CONCERN = "concern", _("expresses concern")
    CONDEMNS = "condemns", _("condemns")
    REJECTS = "rejects", _("rejects")
    WARNS = "warns", _("warns")
    NOTES = "notes", _("notes")


class Attribution(models.TextChoices):
    DIRECT = "direct", _("direct statement of the CSTO body")
    PARAPHRASE = "paraphrase", _("reported paraphrase")
    COMMENTARY = "commentary", _("the outlet's own commentary")


class Position(models.Model):
    """One stance a release takes, anchored to the passage that expresses it."""

    Stance = Stance
    SEARCHED_FIELDS = ("quote", "summary")  # analyzed into the search_* columns

    Attribution = Attribution

    release = models.ForeignKey(
        Release,
        verbose_name=_("release"),
        related_name="positions",
        on_delete=models.CASCADE,
        db_index=False,  # position_release_stance_idx leads with it
    )
    number = models.PositiveIntegerField(
        _("number"),
        editable=False,
        help_text=_("Stable within the release; used in the passage permalink (#p2)."),
    )
    start = models.PositiveIntegerField(
        _("start"), help_text=_("Offset of the passage in the text, in Unicode code points.")
    )
    end = models.PositiveIntegerField(_("end"), help_text=_("Offset just after the passage."))
    quote = models.TextField(_("quoted passage"), help_text=_("Exactly the text at the offsets."))
    prefix = models.CharField(_("text before"), max_length=64, blank=True, editable=False)
    suffix = models.CharField(_("text after"), max_length=64, blank=True, editable=False)
    stance = models.CharField(_("stance"), max_length=12, choices=Stance)
    topics = models.ManyToManyField(Topic, verbose_name=_("topics"), related_name="positions")
    summary = models.CharField(
        _("summary"), max_length=300, help_text=_("One line in Arabic: what the position says.")
    )
    attribution = models.CharField(
        _("attribution"), max_length=12, choices=Attribution, default=Attribution.DIRECT
    )
    note = models.TextField(_("editor's note"), blank=True)
    orphaned = models.BooleanField(
        _("orphaned"),
        default=False,
        editable=False,
        help_text=_(
            "The text was changed and the passage is no longer in it: the offsets are those of "
            "the old text. Hidden from readers until an editor places it again."
        ),
    )
    revision = models.PositiveIntegerField(_("revision"), default=1, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Derived by the search analyzer from quote and summary (statements.analysis).
    search_tokens = models.TextField(default="", editable=False)
    search_folded = models.TextField(default="", editable=False)
    search_version = models.PositiveSmallIntegerField(default=0, editable=False)
    # Copies of the release's public state, date, identifier, source and body, so
    # that the public listings filter and page over this table alone. Written by
    # statements.listing.refresh, and nowhere else (see performance.md).
    is_public = models.BooleanField(default=False, editable=False)
    release_date = models.DateField(null=True, editable=False)
    release_precision = models.CharField(
        max_length=10, choices=DatePrecision, default=DatePrecision.UNKNOWN, editable=False
    )
    release_public_id = models.PositiveBigIntegerField(null=True, editable=False)
    release_source = models.ForeignKey(
        Source, null=True, related_name="+", on_delete=models.PROTECT, editable=False
    )
    issuing_body = models.CharField(
        max_length=20, choices=IssuingBody, default=IssuingBody.UNKNOWN, editable=False
    )

    history = HistoricalRecords(
        m2m_fields=[topics], excluded_fields=[*LISTING_COPIES, *SEARCH_COLUMNS]
    )
    objects = PositionQuerySet.as_manager()

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        ordering = ["release_id", "start", "number"]
        constraints = [
            choices_check("stance", Stance, "%(app_label)s_position_stance_valid"),
            choices_check("attribution", Attribution, "%(app_label)s_position_attribution_valid"),
            models.UniqueConstraint(
                fields=["release", "number"], name="%(app_label)s_position_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="%(app_label)s_position_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(end=F("start") + Length("quote")),
                name="%(app_label)s_position_quote_length",
            ),
        ]
        indexes = [
            # A release's positions (and, read from the index alone, whether it has a
            # public one with a stance: the release listing's stance filter; migration
            # 0022 says what it saves).
            models.Index(
                fields=["release", "stance", "is_public"],
                name="position_release_stance_idx",
            ),
        ]

    def __str__(self):
        return f"{self.release.public_id}#p{self.number}"

    def save(self, *args, **kwargs):
        """Save a passage that fits the text, or an orphan left as it was.

        An orphaned position (statements.anchoring) keeps its old offsets,
        which no longer fit the text; it can be saved with other changes as
        long as those offsets stay as they were. Placing it on the text again
        (offsets and quote that fit) makes it an ordinary position again.
        """
        adding = self._state.adding
        problem = self.anchor_problem()
        if problem and not (self.orphaned and not adding and self._anchor_unchanged()):
            raise ValidationError(
                gettext("Position refused: %(problem)s") % {"problem": gettext(problem)}
            )
        if not problem:
            self.orphaned = False
            self.prefix, self.suffix = text.context(self.release.body, self.start, self.end)
        fields, surfaces = search_index.search_fields(
            *(getattr(self, name) for name in self.SEARCHED_FIELDS)
        )
        for name, value in fields.items():
            setattr(self, name, value)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {
                *kwargs["update_fields"], "revision", "orphaned", "prefix", "suffix", *fields
            }  # fmt: skip
        with transaction.atomic():
            if self.number is None:
                self.number = self.release.next_position_number()
            if not adding:
                claim_revision(self)
            super().save(*args, **kwargs)
            search_index.record_terms(surfaces)
            listing().refresh([self.release_id])

    def get_absolute_url(self):
        return f"{self.release.get_absolute_url()}#p{self.number}"

    def _anchor_unchanged(self):
        return Position.objects.filter(
            pk=self.pk, start=self.start, end=self.end, quote=self.quote
        ).exists()

    @property
    def anchor(self):
        return f"p{self.number}"

    def anchor_problem(self, body=None):
        """Why this passage does not fit the text (``body`` or the release's), or None."""
        return text.anchor_problem(
            self.release.body if body is None else body, self.start, self.end, self.quote
        )

    def clean(self):
        if self.release_id is None or self.start is None or self.end is None:
            return
        if getattr(self, "anchor_follows_text", False):
            return  # untouched in a form that changes the text: re-anchoring places it
        if self.orphaned and self.pk is not None and self._anchor_unchanged():
            return  # left where it was; placed again by selecting its passage
        problem = self.anchor_problem()
        if problem:
            raise ValidationError({"quote": gettext(problem)})


class ReleaseVersion(models.Model):
    """One public version of a release: everything a reader saw, as a snapshot.

    Written by statements.versions when a published release's public content
    changes; never edited. ``/r/<id>/v/<n>/`` shows it again.
    """

    release = models.ForeignKey(
        Release, verbose_name=_("release"), related_name="versions", on_delete=models.PROTECT
    )
    number = models.PositiveIntegerField(_("version"))
    created_at = models.DateTimeField(_("published"), default=timezone.now)
    snapshot = models.JSONField(_("content"))
    body_sha256 = models.CharField(_("text fingerprint (SHA-256)"), max_length=64)
    changes = models.JSONField(_("changes"), default=list)

    class Meta:
        verbose_name = _("release version")
        verbose_name_plural = _("release versions")
        ordering = ["release", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "number"], name="%(app_label)s_version_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="%(app_label)s_version_number_positive"
            ),
        ]

    def __str__(self):
        return f"{self.release.public_id}/v/{self.number}"

    def get_absolute_url(self):
        return reverse(
            "statements:release-version",
            kwargs={"public_id": self.release.public_id, "number": self.number},
        )

    @property
    def short_hash(self):
        return self.body_sha256[:12]


class TopicEntry(models.Model):
    """A public listing's row for "positions on a topic": one per position and topic,
    carrying copies of what the listings filter on (stance, date, source, body,
    public state) and order by (date, the release's public id, the position's number),
    so that a topic filter and its facet counts read one table, and a page of one topic
    walks its entries in the listing's order (statements.paging.Walk).

    Derived data, written by statements.listing.refresh only; ``rebuild_listings``
    rewrites all of it.
    """

    position = models.ForeignKey(Position, related_name="+", on_delete=models.CASCADE)
    topic = models.ForeignKey(Topic, related_name="+", on_delete=models.CASCADE)
    # (db_index=False: topicentry_release_topic_idx leads with it)
    release = models.ForeignKey(Release, related_name="+", on_delete=models.CASCADE, db_index=False)
    stance = models.CharField(max_length=12, choices=Stance)
    release_date = models.DateField(null=True)
    release_precision = models.CharField(max_length=10, choices=DatePrecision)
    release_source = models.ForeignKey(Source, related_name="+", on_delete=models.CASCADE)
    release_public_id = models.PositiveBigIntegerField(null=True)
    number = models.PositiveIntegerField(null=True)  # the position's
    issuing_body = models.CharField(max_length=20, choices=IssuingBody)
    is_public = models.BooleanField()

    class Meta:
        verbose_name = _("listing entry")
        verbose_name_plural = _("listing entries")
        constraints = [
            models.UniqueConstraint(
                fields=["position", "topic"], name="%(app_label)s_topicentry_unique"
            )
        ]
        indexes = [
            # "Positions on a topic (and its narrower topics), with a stance": the
            # public filter and its facet counts read this index alone.
            models.Index(
                fields=["topic", "stance", "position"],
                condition=Q(is_public=True),
                name="topicentry_public_idx",
            ),
            # Entries without the listing's ordering, written by code older than
            # migration 0020 (still serving while it ran): none, normally, so this index
            # is empty and says so at once (statements.listing.entries_ordered).
            models.Index(
                fields=["topic"],
                condition=Q(number=None) | Q(release_public_id=None),
                name="topicentry_unordered_idx",
            ),
            # A release's entries (and, read from the index alone, whether it is on a
            # topic publicly: the release listing's topic filter, and its topic facets
            # counted over a few releases' keys; migration 0022 says what it saves).
            models.Index(
                fields=["release", "topic", "is_public"],
                name="topicentry_release_topic_idx",
            ),
        ]

    def __str__(self):
        return f"{self.position_id} / {self.topic_id}"


class FacetDims(models.Model):
    """The dimensions a facet count is kept by (statements.counts): which count
    (``kind``), then topic (0: not by topic), a second topic (``pair``, 0: none), stance
    ("": any), issuing body, source (0: not by source), year (0: date unknown) and
    whether the source is a relay."""

    kind = models.CharField(max_length=4)
    topic = models.IntegerField(default=0)
    pair = models.IntegerField(default=0)
    stance = models.CharField(max_length=12, default="")
    body = models.CharField(max_length=20, default="")
    source = models.IntegerField(default=0)
    year = models.IntegerField(default=0)
    relay = models.BooleanField(default=False)
    n = models.BigIntegerField()

    class Meta:
        abstract = True


class FacetCount(FacetDims):
    """How many public positions or releases each combination of filter values has:
    facet counts and totals read these sums instead of grouping the archive's rows.

    Derived data, kept by statements.counts from :class:`FacetContribution`."""

    class Meta:
        verbose_name = _("facet count")
        verbose_name_plural = _("facet counts")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "topic", "pair", "stance", "body", "source", "year", "relay"],
                name="%(app_label)s_facetcount_unique",
            )
        ]
        indexes = [
            # The sums a recount brought to zero, deleted after each recount: without it
            # that DELETE read the whole table (450 ms at 100,000 releases, 5 million
            # sums: a Seq Scan in EXPLAIN ANALYZE); with it, an index scan of the few.
            models.Index(fields=["id"], condition=models.Q(n=0), name="facetcount_zero_idx"),
        ]

    def __str__(self):
        return (
            f"{self.kind} {self.topic} {self.pair} {self.stance} {self.body} {self.source} "
            f"{self.year}"
        )


class FacetContribution(FacetDims):
    """What one release adds to the facet counts, so that a change to it takes exactly
    that away before adding its new share (statements.counts.recount)."""

    # Not a foreign key: a deleted release's share is taken away by the delete handler
    # (statements.signals), and the rows go with it.
    release_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("facet count contribution")
        verbose_name_plural = _("facet count contributions")
        # By kind within a release: the sums of a kind derived from another read only
        # that kind's shares of the releases recounted (statements.counts._sums_sql).
        indexes = [models.Index(fields=["release_id", "kind"], name="facetcontribution_kind_idx")]

    def __str__(self):
        return f"{self.release_id}: {self.kind} {self.topic} {self.stance} {self.n}"


class ListingGeneration(models.Model):
    """One row: a number that changes whenever anything public changes.

    Cached listing counts are keyed by it (statements.listing.cached), so a
    publication, a withdrawal or a correction is never answered from an old count.
    """

    value = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)
    # What computed the count tables (statements.counts.signature): when the counting
    # changes, migrate recounts them (statements.apps).
    counts_version = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("listing generation")
        verbose_name_plural = _("listing generations")

    def __str__(self):
        return str(self.value)


class SearchTerm(models.Model):
    """The vocabulary of the archive (surface forms), for substring and fuzzy matching.

    Filled as records are saved; rebuilt by ``manage.py reindex_search``. A
    word that is no longer in any record does no harm: it matches nothing.
    """

    MAX_LENGTH = 100

    term = models.CharField(max_length=MAX_LENGTH, unique=True)

    class Meta:
        verbose_name = _("search term")
        verbose_name_plural = _("search terms")

    def __str__(self):
        return self.term
