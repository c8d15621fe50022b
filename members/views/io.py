"""Web import (upload -> progress -> preview -> confirm -> progress -> result) and the
member list's CSV/XLSX exports.

The import checks the file with members.io exactly as the command does, limited to
the importer's scope: a commune secretary's rows for another commune are row errors.
The request only stores the upload and enqueues the work (members/io/jobs.py): the
job runner reads, checks and writes it in the background while the page shows a
progress bar, refreshed every two seconds without JavaScript. Confirming checks the
file again, because the registry may have changed since the preview.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from branches.access import BRANCH, COMMUNE, DISTRICT, NONE, PROVINCE, Scope, scope_for
from branches.models import Branch, Commune, District, Province, Village
from pacnam.lib.fields import own_field
from pacnam.lib.requests import signed_in_user
from pacnam.lib.text import fold
from pacnam.security.readlog import log_member_export

from ..forms.members import MemberFilterForm
from ..io.export import csv_chunks, member_list_rows, people_rows, people_xlsx_bytes, xlsx_bytes
from ..io.extra_imports import EXTRA_IMPORTS
from ..io.jobs import (
    LEASED,
    import_job_confirm,
    import_job_start,
    import_jobs_ahead,
    import_jobs_sweep,
    summary_plan,
)
from ..io.read import HEADERS, column_title, columns_of, required_columns
from ..models import ImportJob, ImportJobStatus, Member, Membership

KIND_CHOICES = [
    ("members", gettext_lazy("members")),
    ("memberships", gettext_lazy("memberships (history)")),
    ("branches", gettext_lazy("branches")),
    ("villages", gettext_lazy("villages")),
    ("communes", gettext_lazy("communes")),
]


def kind_choices() -> list[tuple]:
    """The registry's kinds, then those apps above members add (the dues)."""
    return KIND_CHOICES + [(kind, extra.label) for kind, extra in EXTRA_IMPORTS.items()]


# --- Exports ------------------------------------------------------------------------


def _export_queryset(request: HttpRequest):
    """The member list the user sees, filtered as on its page, and the place the
    file is named for."""
    scope = scope_for(request.user)
    if scope.level == NONE:
        raise Http404
    # The list page's own filters, scoped: a commune or branch outside the
    # user's scope is a form error and the export is empty.
    form = MemberFilterForm(request.GET, scope=scope)
    qs = form.filter().order_by("folded_name", "citizen_id")
    return qs, _export_place(form, scope)


def _export_place(form: MemberFilterForm, scope: Scope) -> str:
    """What the list covers, for its file name: the commune or branch filtered on,
    else the user's own commune, district or province (one query), else 'tat-ca'."""
    data = form.cleaned_data if form.is_valid() else {}
    unit = data.get("branch") or data.get("commune")
    if unit is None:
        # A scope of a level always names its unit (scope_of_role sets it).
        if scope.level == BRANCH:
            assert scope.branch_id is not None
            unit = Branch.objects.filter(pk=scope.branch_id).only("name").first()
        elif scope.level == COMMUNE:
            assert scope.commune_id is not None
            unit = Commune.objects.filter(pk=scope.commune_id).only("name").first()
        elif scope.level == DISTRICT:
            assert scope.district_id is not None
            unit = District.objects.filter(pk=scope.district_id).only("name").first()
        elif scope.level == PROVINCE:
            assert scope.province_id is not None
            unit = Province.objects.filter(pk=scope.province_id).only("name").first()
    return slugify(fold(unit.name)) if unit is not None else "tat-ca"


def _export_name(what: str, place: str, extension: str) -> str:
    """'dang-vien-cao-minh-2026-12-03.xlsx': what, where, and the day."""
    return f"{what}-{place}-{timezone.localdate():%Y-%m-%d}.{extension}"


# The machine export (the registry's keys and words, the contract other tools and
# re-imports read) and the people's export have different names: downloaded on the
# same day, one never replaces the other.
MACHINE_FILE = "du-lieu-dang-vien"
PEOPLE_FILE = "dang-vien"


@login_required
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The member list the user sees, in `registry_export members` columns, streamed."""
    qs, place = _export_queryset(request)
    rows = log_member_export(member_list_rows(qs), request=request)
    # A BOM so that Excel opens the Vietnamese names as UTF-8; the import accepts it.
    response = StreamingHttpResponse(
        csv_chunks(rows, bom=True), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{_export_name(MACHINE_FILE, place, "csv")}"'
    )
    return response


@login_required
def export_xlsx(request: HttpRequest) -> HttpResponse:
    """The same as export_csv, as an Excel workbook (the machine export); `?titles=vi`
    gives the people's export instead: Vietnamese titles and words, date cells,
    the branch's and commune's names beside their codes. The import reads both."""
    qs, place = _export_queryset(request)
    if request.GET.get("titles") == "vi":
        rows = log_member_export(people_rows(qs), request=request)
        content = people_xlsx_bytes(rows, title=_("Members"))
        name = _export_name(PEOPLE_FILE, place, "xlsx")
    else:
        rows = log_member_export(member_list_rows(qs), request=request)
        content = xlsx_bytes(rows, title="members")
        name = _export_name(MACHINE_FILE, place, "xlsx")
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- Import ---------------------------------------------------------------------------


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"), choices=kind_choices)
    file = forms.FileField(
        label=gettext_lazy("File (CSV or Excel .xlsx)"),
        help_text=gettext_lazy(
            "Column titles as in the registry export or in Vietnamese, in any order; "
            "title rows and an STT column are left out."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)d MB, the most the registry accepts.")
                % {"size": max(1, settings.IMPORT_MAX_BYTES // (1024 * 1024))}
            )
        return upload


class ConfirmForm(forms.Form):
    token = forms.UUIDField()
    allow_mass_update = forms.BooleanField(required=False)


def _import_scope(request: HttpRequest) -> Scope:
    """District officers, commune secretaries and administrators import; others get 404."""
    scope = scope_for(request.user)
    if not scope.can_edit_registry():
        raise Http404
    return scope


def _own_job(request: HttpRequest, pk) -> ImportJob:
    """An import is seen by the user who uploaded it, and nobody else (404)."""
    try:
        return ImportJob.objects.get(pk=pk, user=signed_in_user(request))
    except (ImportJob.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


MODELS = {
    "communes": Commune,
    "villages": Village,
    "branches": Branch,
    "members": Member,
    "memberships": Membership,
}


def _field_labels(kind: str, names: list[str]) -> str:
    """'position, residence_village_id' -> 'chức vụ, thôn, bản nơi cư trú'."""
    model = MODELS[kind] if kind in MODELS else EXTRA_IMPORTS[kind].model
    return ", ".join(str(own_field(model, name.removesuffix("_id")).verbose_name) for name in names)


def _column_title(kind: str, column: str) -> str:
    return column_title(kind, column)


@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    """Upload a file: it is stored and queued, and the page follows its check."""
    _import_scope(request)
    required = {*required_columns("members"), "branch_code", "branch_name"}
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = import_job_start(
            user=request.user,
            kind=form.cleaned_data["kind"],
            filename=upload.name,
            data=upload.read(),
            language=get_language(),
        )
        return redirect("members:import_job", pk=job.pk)
    return render(
        request,
        "members/import.html",
        {
            "form": form,
            # ", " so that a phone wraps the list between keys.
            "columns": [(label, ", ".join(HEADERS[kind])) for kind, label in kind_choices()],
            "titles": [
                (_column_title("members", key), key, key in required)
                for key in columns_of("members")
            ],
        },
    )


def _job_silence(job: ImportJob) -> dict:
    """How long the worker has not been heard of, when it is long enough to say
    (a third of the lease: six heartbeats missed), and in how long the job is
    failed if it stays silent."""
    heard = job.heartbeat_at or job.updated_at
    silent = (timezone.now() - heard).total_seconds()
    if silent < settings.JOB_LEASE_SECONDS / 3:
        return {}
    return {
        "silent_seconds": int(silent),
        "lease_left_seconds": max(0, int(settings.JOB_LEASE_SECONDS - silent)),
    }


@login_required
def import_job(request: HttpRequest, pk) -> HttpResponse:
    """The import's page: its progress while the runner works, then the preview
    (or the errors), then the result."""
    _import_scope(request)
    # A job whose worker has died is failed here, so that its page stops waiting.
    import_jobs_sweep(wait_for_writer=False)
    job = _own_job(request, pk)
    plan = summary_plan(job.summary)
    context = {
        "job": job,
        "plan": plan,
        "counts": plan.counts,
        "filename": job.filename,
        "kind_label": dict(kind_choices()).get(job.kind, job.kind),
    }
    if job.is_running:
        context["phase"] = job.summary.get("phase", "")
        if job.status in (ImportJobStatus.QUEUED, ImportJobStatus.WRITE_QUEUED):
            context["ahead"] = import_jobs_ahead(job)
        if job.status in LEASED:
            context.update(_job_silence(job))
        return render(request, "members/import_progress.html", context)
    if job.status == ImportJobStatus.DONE:
        return render(request, "members/import_result.html", context)
    titles = plan.columns.get("titles", {})
    for change in plan.changes:
        change["change_labels"] = _field_labels(job.kind, change["changes"])
        change["diffs"] = [
            (titles.get(column) or _column_title(job.kind, column), old, new)
            for column, old, new in change["diffs"]
        ]
    return render(
        request,
        "members/import_preview.html",
        {
            **context,
            "changes": plan.changes,
            "more_changes": plan.more_changes,
            # A preview that may be confirmed: checked, without errors.
            "token": job.pk if job.status == ImportJobStatus.CHECKED else None,
            "mass_update": plan.name_changes > settings.IMPORT_MASS_NAME_CHANGES,
            "mass_limit": settings.IMPORT_MASS_NAME_CHANGES,
            "confirm_error": request.GET.get("confirm") == "needed",
        },
    )


@require_POST
@login_required
def import_confirm(request: HttpRequest) -> HttpResponse:
    """Queue the writing of the previewed file, which is checked again: all rows or none."""
    _import_scope(request)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return redirect("members:import")  # a stale tab: nothing to write
    try:
        job = ImportJob.objects.get(pk=form.cleaned_data["token"], user=signed_in_user(request))
    except ImportJob.DoesNotExist:
        return redirect("members:import")
    plan = summary_plan(job.summary)
    allowed = form.cleaned_data["allow_mass_update"]
    if plan.name_changes > settings.IMPORT_MASS_NAME_CHANGES and not allowed:
        # Many names would change: nothing is queued without the box ticked.
        return redirect(f"{job.get_absolute_url()}?confirm=needed")
    import_job_confirm(job=job, allow_mass_update=allowed)
    return redirect(job.get_absolute_url())
