"""Web import (upload -> preview -> confirm) and the member list's CSV/XLSX exports.

The import checks the file with members.io exactly as the command does,
limited to the importer's scope: a commune secretary's rows for another commune
are row errors. The upload waits in a temporary file named by a random token
kept in the session; confirming validates it again, because the registry may
have changed since the preview.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from branches.access import NONE, Scope, scope_for
from branches.models import Branch, Commune, Village
from pacnam.readlog import log_member_export

from ..forms.members import MemberFilterForm
from ..io.apply import ImportAborted, import_plan_apply
from ..io.export import csv_chunks, member_list_rows, xlsx_bytes
from ..io.read import ImportFileError, read_table
from ..io.validate import CREATE, UPDATE, ImportPlan, RowError, validate_table
from ..models import Member, Membership

SESSION_KEY = "registry_import"
PREVIEW_ROWS = 500  # rows of changes listed on the preview; errors are always all listed

KIND_CHOICES = [
    ("members", gettext_lazy("members")),
    ("memberships", gettext_lazy("memberships (history)")),
    ("branches", gettext_lazy("branches")),
    ("villages", gettext_lazy("villages")),
    ("communes", gettext_lazy("communes")),
]


# --- Exports ------------------------------------------------------------------------


def _export_queryset(request: HttpRequest):
    scope = scope_for(request.user)
    if scope.level == NONE:
        raise Http404
    # The list page's own filters, scoped: a commune or branch outside the
    # user's scope is a form error and the export is empty.
    form = MemberFilterForm(request.GET, scope=scope)
    return form.filter().order_by("folded_name", "citizen_id")


def _export_name(extension: str) -> str:
    return f"dang-vien-{timezone.localdate():%Y-%m-%d}.{extension}"


@login_required
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The member list the user sees, in `registry_export members` columns, streamed."""
    rows = log_member_export(member_list_rows(_export_queryset(request)), request=request)
    # A BOM so that Excel opens the Vietnamese names as UTF-8; the import accepts it.
    response = StreamingHttpResponse(csv_chunks(rows, bom=True), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_export_name("csv")}"'
    return response


@login_required
def export_xlsx(request: HttpRequest) -> HttpResponse:
    """The same as export_csv, as an Excel workbook."""
    rows = log_member_export(member_list_rows(_export_queryset(request)), request=request)
    content = xlsx_bytes(rows, title="members")
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_name("xlsx")}"'
    return response


# --- Import ---------------------------------------------------------------------------


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"), choices=KIND_CHOICES)
    file = forms.FileField(
        label=gettext_lazy("File (CSV in UTF-8 or Excel .xlsx)"),
        help_text=gettext_lazy("The first row must be the header of the registry export."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)d MB, the most the registry accepts.")
                % {"size": max(1, settings.IMPORT_MAX_BYTES // (1024 * 1024))}
            )
        return upload


def _import_scope(request: HttpRequest) -> Scope:
    """District officers, commune secretaries and administrators import; others get 404."""
    scope = scope_for(request.user)
    if not scope.can_edit_registry():
        raise Http404
    return scope


PENDING_MAX_AGE_SECONDS = 24 * 3600


def _upload_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "pacnam-imports"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _forget_abandoned_uploads() -> None:
    """Previews nobody confirmed: their files go after a day, not never."""
    limit = time.time() - PENDING_MAX_AGE_SECONDS
    for pending in _upload_dir().glob("*.upload"):
        try:
            if pending.stat().st_mtime < limit:
                pending.unlink()
        except OSError:
            pass  # another worker removed it first


def _pending_path(token: str) -> Path:
    # The token comes from secrets.token_hex: no path separators can sneak in.
    return _upload_dir() / f"{token}.upload"


def _plan_for(kind: str, data: bytes, filename: str, scope: Scope) -> ImportPlan:
    try:
        table = read_table(data, filename)
    except ImportFileError as exc:
        return ImportPlan(kind=kind, errors=[RowError(1, "file", exc.message)])
    return validate_table(kind=kind, table=table, scope=scope)


MODELS = {"communes": Commune, "villages": Village, "branches": Branch, "members": Member, "memberships": Membership}


def _field_labels(kind: str, names: list[str]) -> str:
    """'position, residence_village_id' -> 'chức vụ, thôn, bản nơi cư trú'."""
    meta = MODELS[kind]._meta
    return ", ".join(str(meta.get_field(name.removesuffix("_id")).verbose_name) for name in names)


def _preview(request: HttpRequest, plan: ImportPlan, *, filename: str, token: str | None) -> HttpResponse:
    changes = [row for row in plan.rows if row.action in (CREATE, UPDATE)][:PREVIEW_ROWS]
    for row in changes:
        row.change_labels = _field_labels(plan.kind, row.changes)
    return render(request, "members/import_preview.html", {
        "plan": plan,
        "counts": plan.counts,
        "filename": filename,
        "kind_label": dict(KIND_CHOICES)[plan.kind],
        "changes": changes,
        "more_changes": max(0, plan.count(CREATE) + plan.count(UPDATE) - PREVIEW_ROWS),
        "token": token,
    })


@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    """Upload a file; the answer is a preview of every row (nothing written yet)."""
    scope = _import_scope(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        kind = form.cleaned_data["kind"]
        data = upload.read()
        plan = _plan_for(kind, data, upload.name, scope)
        token = None
        if not plan.errors:
            _discard_pending(request)
            _forget_abandoned_uploads()
            token = secrets.token_hex(16)
            _pending_path(token).write_bytes(data)
            request.session[SESSION_KEY] = {"token": token, "kind": kind, "filename": upload.name}
        return _preview(request, plan, filename=upload.name, token=token)
    return render(request, "members/import.html", {"form": form})


def _discard_pending(request: HttpRequest) -> None:
    pending = request.session.pop(SESSION_KEY, None)
    if pending:
        _pending_path(pending["token"]).unlink(missing_ok=True)


@require_POST
@login_required
def import_confirm(request: HttpRequest) -> HttpResponse:
    """Write the previewed file, checked again: all rows or none."""
    scope = _import_scope(request)
    pending = request.session.get(SESSION_KEY)
    token = request.POST.get("token", "")
    path = _pending_path(pending["token"]) if pending else None
    if not pending or not secrets.compare_digest(token, pending["token"]) or not path.exists():
        # A stale tab or a second confirm: nothing to write.
        return redirect("members:import")
    plan = _plan_for(pending["kind"], path.read_bytes(), pending["filename"], scope)
    if not plan.errors:
        try:
            import_plan_apply(plan=plan, actor=request.user, source=pending["filename"])
        except ImportAborted as exc:
            plan.errors.append(exc.error)
    if plan.errors:
        # Someone changed the registry since the preview: show why, write nothing.
        _discard_pending(request)
        return _preview(request, plan, filename=pending["filename"], token=None)
    _discard_pending(request)
    return render(request, "members/import_result.html", {
        "counts": plan.counts,
        "filename": pending["filename"],
        "kind_label": dict(KIND_CHOICES)[plan.kind],
    })
