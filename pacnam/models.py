"""The audit trail: an append-only, sealed chain of every change.

Modelled on byro's `common/models/log.py`: each entry stores who, when, what,
before and after, and the seal of the previous entry. The seal is an
HMAC-SHA256 under `AUDIT_KEY`, a key that is not in the database, over every
stored field of the entry, the records it is linked to and the previous seal
(`AuditEntry.sealed_fields`). Someone who owns the database but not the key
can rewrite rows, but cannot compute the seals that would make them fit:
`manage.py audit_verify` names the first entry that does not (docs/audit.md).
Entries are written by `pacnam.audit.trail`, never by hand; the application can
neither change nor delete them (save(), delete(), the QuerySet and the admin
all refuse, and a database trigger stops UPDATE/DELETE that bypasses Django).

The read log (`ReadLogEntry`) is append-only in the same way, but not chained:
it records who opened which member's page or exported which list.
"""

import datetime
import hashlib
import hmac
import json

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history import register

# prev_hash of the first entry of a chain.
GENESIS_HASH = "0" * 64
# key_id of the entries written before the log was keyed (plain SHA-256, see legacy_hash).
LEGACY_KEY_ID = ""


class AppendOnlyError(Exception):
    """Someone tried to change or delete an audit record through the application."""


class AppendOnlyQuerySet(models.QuerySet):
    """Inserts only: bulk updates and deletes are refused, whoever asks."""

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: it cannot be updated.")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: it cannot be deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: it cannot be updated.")

    def update_or_create(self, *args, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: it cannot be updated.")


class AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # `_state.adding` is False once the row exists: any later save is an update.
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} is append-only: it cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} is append-only: it cannot be deleted.")


def canonical_json(value) -> str:
    """The one serialisation the hash is computed over: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# The actions' codes (the services' audit_batch and pacnam.audit.trail) in words.
AUDIT_ACTIONS = {
    "create": _("created"),
    "update": _("changed"),
    "delete": _("deleted"),
    "branch_dissolve": _("dissolved the branch"),
    "dissolution_undo": _("undid the dissolution"),
    "import": _("imported data"),
    # Every action a service records (pacnam.audit.trail.audited and audit_batch
    # callers): a code missing here reached the change log as "units reorganize".
    # tests/test_audit_actions.py fails when a new one is not named.
    "units_reorganize": _("reorganised the communes"),
    "units_reorganize_undo": _("undid the reorganisation of the communes"),
    "meeting_roll_open": _("took the meeting's roll"),
    "meeting_attendance": _("marked the meeting's attendance"),
    "meeting_roll_save": _("marked the meeting's attendance and recorded its dues"),
    "meeting_attendance_offline": _("marked the meeting's attendance on a phone with no signal"),
    "meeting_task_offline": _("set a task on a phone with no signal"),
    "meeting_record_offline": _("wrote the meeting's minutes on a phone with no signal"),
    "dues_collect": _("recorded the dues collected at the meeting"),
    "task_create": _("set a task"),
    "task_review": _("reviewed last month's tasks"),
    "candidate_step": _("recorded an admission step"),
    "candidate_admit": _("admitted the candidate"),
    "candidate_withdraw": _("withdrew the candidate"),
    "member_recognize_full": _("recognised as full member"),
    "ratings": _("recorded the annual ratings"),
    "transfer_receive": _("received the transferred member"),
    "audit_seal": _("sealed the log"),
}


class AuditEntry(AppendOnlyModel):
    """One change (or one bulk operation with its items) and its place in the chain."""

    seq = models.PositiveBigIntegerField(_("number"), unique=True)
    at = models.DateTimeField(_("when"), db_index=True)
    # PROTECT: a user who acted cannot be deleted (deactivate them instead);
    # SET_NULL would be an UPDATE of the log. The username is kept too, hashed.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_name = models.CharField(_("who (username)"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("record type"), max_length=100, blank=True)
    object_id = models.CharField(_("record number"), max_length=64, blank=True)
    object_repr = models.CharField(_("record"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    # Bulk operations (imports, dissolutions, undos): one entry, one item per changed record.
    items = models.JSONField(_("items"), default=list, blank=True)
    # Which key sealed the entry (pacnam.audit.trail.key_id): old entries stay
    # verifiable with AUDIT_OLD_KEYS after the key is rotated. Empty for the
    # entries written before the log was keyed.
    key_id = models.CharField(_("key id"), max_length=32, blank=True, default=LEGACY_KEY_ID)
    prev_hash = models.CharField(_("previous seal"), max_length=64)
    hash = models.CharField(_("seal"), max_length=64, unique=True)
    # The state each changed row was left in, as a keyed digest (pacnam.audit.trail
    # .row_digest): {"members.member:12": HMAC of the whole row under the entry's
    # key, or null when the entry deleted it}. `audit_verify --records` compares
    # the rows of today with their last digest, so that a row changed behind the
    # registry's back (raw SQL) is named. NULL in the entries written before
    # digests were kept: their rows are reported as "no digest".
    row_digests = models.JSONField(_("row digests"), null=True, blank=True, default=None)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-seq"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"#{self.seq} {self.action_label}: {self.object_repr}".strip(": ")

    @property
    def action_label(self) -> str:
        """The action in words, as the change log says it ("giải thể chi bộ")."""
        return str(AUDIT_ACTIONS.get(self.action, self.action.replace("_", " ")))

    def sealed_fields(self, links) -> dict:
        """Everything the seal covers: every stored field but the seal itself (the
        predecessor's seal included), and the records the entry is linked to.

        `links` are (object type, object id) pairs, as stored in AuditLink. A new
        field of the model must be added here: tests/test_audit_seal.py fails until it is.
        """
        return {
            "id": self.pk,
            "seq": self.seq,
            "at": _utc_text(self.at),
            "actor": self.actor_id,
            "actor_name": self.actor_name,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "description": self.description,
            "before": self.before,
            "after": self.after,
            "items": self.items,
            "key_id": self.key_id,
            "prev_hash": self.prev_hash,
            "links": sorted([str(t), str(i)] for t, i in links),
            # Only where kept: the entries sealed before keep their seals.
            **({"row_digests": self.row_digests} if self.row_digests is not None else {}),
        }

    def compute_seal(self, key: bytes, links) -> str:
        message = canonical_json(self.sealed_fields(links)).encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def legacy_hash(self) -> str:
        """The unkeyed SHA-256 of the entries written before the log was keyed.
        Anyone can recompute it: those entries are protected by the keyed seal
        entry that `audit_verify --reseal` writes after them (docs/audit.md)."""
        # The fields the old hash covered: the seal's, without the id, the key and the links.
        fields = {
            k: v for k, v in self.sealed_fields(()).items() if k not in ("id", "key_id", "links")
        }
        return hashlib.sha256(canonical_json(fields).encode()).hexdigest()

    # --- For the pages (pacnam/_audit.html) ---
    @property
    def is_batch(self) -> bool:
        return bool(self.items)

    @property
    def changes(self) -> list[tuple[str, object, object]]:
        """(field label, before, after) for each field that changed, labels translated."""
        return _changes(self.object_type, self.before, self.after)


def _utc_text(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat()


def _model_field(object_type: str, attname: str):
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return None
    for field in model._meta.concrete_fields:
        if attname in (field.attname, field.name):
            return field
    return None


def _display(field, value):
    """A stored value as people read it: DD/MM/YYYY dates, choice labels, yes/no."""
    if value is None or field is None:
        return value
    try:
        if isinstance(field, models.DateTimeField):
            moment = timezone.localtime(datetime.datetime.fromisoformat(value))
            return moment.strftime("%d/%m/%Y %H:%M")
        if isinstance(field, models.DateField):
            return datetime.date.fromisoformat(value).strftime("%d/%m/%Y")
    except (TypeError, ValueError):
        return value
    if isinstance(field, models.BooleanField):
        return _("yes") if value else _("no")
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    return value


# Bookkeeping, not a fact of the record: the page says the version in words.
UNLISTED_CHANGES = {"version"}


def _changes(object_type: str, before: dict | None, after: dict | None) -> list:
    before, after = before or {}, after or {}
    rows = []
    for key in sorted(set(before) | set(after)):
        if key in UNLISTED_CHANGES or before.get(key) == after.get(key):
            continue
        field = _model_field(object_type, key)
        label = str(field.verbose_name) if field is not None else key
        rows.append((label, _display(field, before.get(key)), _display(field, after.get(key))))
    return rows


class AuditLink(AppendOnlyModel):
    """Which records an entry concerns: the changed record, the records it points to
    (a membership's member and branch) and every item of a batch. It is the index
    behind "the log of this member / this branch" (one query, whatever the size)."""

    entry = models.ForeignKey(AuditEntry, on_delete=models.PROTECT, related_name="links")
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit link")
        verbose_name_plural = _("audit links")
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "object_type", "object_id"], name="audit_link_once"
            ),
        ]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_link_object")]

    def __str__(self) -> str:
        return f"#{self.entry_id} {self.object_type} {self.object_id}"


class AuditHead(models.Model):
    """The end of the chain: one row (pk=1) holding the last entry's seq, seal and id.

    Appending locks this row (select_for_update) in the writer's transaction, so
    appends are serialised: see pacnam.audit.trail._append. It also lets audit_verify
    notice entries cut off the end of the chain (the head remembers them).
    The next entry's id is entry_id + 1, known before the entry is written, so
    that the seal can cover the id too.
    """

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)
    entry_id = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")
        default_permissions = ()
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="audit_head_single_row")
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


# Users are who may see and change what: their changes (activation, superuser
# flag, groups of permissions, password) belong in the audit trail as much as a
# member's. Their history table lives here (pacnam_historicaluser), so the user
# model itself stays Django's. last_login is left out: a login is not a change.
register(get_user_model(), app="pacnam", excluded_fields=["last_login"])


class ReadAction(models.TextChoices):
    MEMBER_VIEW = "member_view", _("opened a member's page")
    MEMBER_EXPORT = "member_export", _("exported members")


class ReadLogEntry(AppendOnlyModel):
    """Who read whose personal data: a member's page opened, a list of members
    exported (the processing record the personal-data decree expects).

    Append-only like the audit trail (model, QuerySet, admin and database
    triggers refuse changes), but not sealed: it is written on every page view,
    and a chain would make every reader wait for the others. Written by
    pacnam.security.readlog, reviewed by district officers at /read-log/ and in the admin.
    """

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The username for a user; the system account for a command (manage.py).
    actor_name = models.CharField(_("who (username)"), max_length=150, blank=True)
    action = models.CharField(_("what"), max_length=30, choices=ReadAction.choices)
    object_type = models.CharField(_("record type"), max_length=100, blank=True)
    object_id = models.CharField(_("record number"), max_length=64, blank=True)
    object_repr = models.CharField(_("record"), max_length=300, blank=True)
    # An export's filter as the user gave it ({"commune": ["01885"], ...}) and
    # how many rows it wrote.
    query = models.JSONField(_("filter"), default=dict, blank=True)
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    where = models.CharField(_("where"), max_length=300, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("read log entry")
        verbose_name_plural = _("read log")
        ordering = ["-at", "-id"]
        default_permissions = ("view",)
        permissions = [
            # Granted to roles by the app that knows them (branches.access.RolePermissionBackend),
            # or to any user or group in the admin.
            ("second_factor_required", _("Must sign in with a second factor")),
        ]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="read_log_object"),
            models.Index(fields=["actor", "at"], name="read_log_actor"),
        ]

    def __str__(self) -> str:
        # As the pages say it: dd/mm/yyyy in local time, the action in words.
        at = timezone.localtime(self.at)
        return f"{at:%d/%m/%Y %H:%M} {self.actor_name} {self.get_action_display()} {self.object_repr}".strip()
