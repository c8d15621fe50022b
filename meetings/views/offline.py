"""The roll with no signal: what the phone needs to open the roll offline, and
the one address its queue of entries is sent to.

The pages still work without JavaScript (the roll form posts as always); with
it, static/js/offline-roll.js keeps the roll page and its marks on the phone and
sends each entry here, once it has signal, with an id the phone made.
"""

import datetime
import json
import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from branches.access import scope_for
from pacnam.lib.errors import DomainError

from ..forms import TaskForm
from ..models import OfflineEntry, Presence
from ..services import offline as offline_services
from .lookups import writable_meeting_or_404
from .meetings import roll_members

MAX_ENTRY_BYTES = 200_000


class BadEntry(ValueError):
    pass


def _marks(raw, name: str) -> dict[int, tuple[str, str]]:
    if not isinstance(raw, dict):
        raise BadEntry(name)
    marks = {}
    for key, value in raw.items():
        if not (
            isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)
        ):
            raise BadEntry(name)
        presence, reason = value
        if presence not in Presence.values and presence != "":
            raise BadEntry(name)
        try:
            marks[int(key)] = (presence, reason.strip()[:200])
        except ValueError:
            raise BadEntry(name) from None
    return marks


def _read_entry(body: bytes) -> dict:
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise BadEntry("entry")
        written_at = parse_datetime(data["written_at"]) if data.get("written_at") else None
        return {
            "client_id": uuid.UUID(str(data["id"])),
            "marks": _marks(data.get("marks"), "marks"),
            "seen": _marks(data.get("seen", {}), "seen"),
            "written_at": written_at if isinstance(written_at, datetime.datetime) else None,
        }
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise BadEntry("entry") from None


@login_required
@require_POST
def offline_roll_entry(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply one entry of a phone's queue; answers JSON for the script.

    200 with what was written and the conflicts left to the user; the same answer
    again, marked `repeated`, for an entry already applied; 400 with a message in
    the user's language when the entry cannot be read or a rule refuses it.
    """
    meeting = writable_meeting_or_404(request, pk)
    if len(request.body) > MAX_ENTRY_BYTES:
        return JsonResponse({"error": _("The entry is too large to be a roll.")}, status=400)
    try:
        entry = _read_entry(request.body)
        outcome, new = offline_services.meeting_apply_offline_roll(
            scope=scope_for(request.user), by=request.user, meeting=meeting, **entry
        )
    except BadEntry:
        return JsonResponse(
            {"error": _("The phone sent an entry the registry cannot read.")}, status=400
        )
    except DomainError as exc:
        return JsonResponse({"error": str(exc.message)}, status=400)
    return JsonResponse({**outcome, "repeated": not new})


@login_required
@require_POST
def offline_task_entry(request: HttpRequest, pk: int) -> HttpResponse:
    """Set one task the phone kept while it had no signal; answers JSON.

    The phone posts the meeting page's own task form (the same fields, read by
    the same form) with the id it made, `offline_id`. 200 with the task once;
    the same answer, marked `repeated`, for an id already applied; 400 with the
    form's messages, in the user's language, when the task is refused.
    """
    meeting = writable_meeting_or_404(request, pk)
    try:
        client_id = uuid.UUID(request.POST.get("offline_id", ""))
    except ValueError:
        return JsonResponse(
            {"error": _("The phone sent an entry the registry cannot read.")}, status=400
        )
    written_at = parse_datetime(request.POST.get("written_at", "") or "")
    form = TaskForm(request.POST, meeting=meeting, members=roll_members(meeting))
    if not form.is_valid():
        # A replay of a task already set needs no valid form: it is answered as before.
        answered = OfflineEntry.objects.filter(client_id=client_id).first()
        if answered is None:
            return JsonResponse({"error": _form_errors(form)}, status=400)
    try:
        outcome, new = offline_services.meeting_apply_offline_task(
            scope=scope_for(request.user),
            by=request.user,
            meeting=meeting,
            client_id=client_id,
            written_at=written_at,
            **{name: form.cleaned_data.get(name) for name in TaskForm.Meta.fields},
        )
    except DomainError as exc:
        return JsonResponse({"error": str(exc.message)}, status=400)
    return JsonResponse({**outcome, "repeated": not new})


@login_required
@require_POST
def offline_record_entry(request: HttpRequest, pk: int) -> HttpResponse:
    """Write the agenda, minutes or resolution typed with no signal; answers JSON:
    {id, texts: {field: text}, seen: {field: text shown when the page opened},
    written_at}. 200 with the fields written and the conflicts left to the user
    (the same answer, `repeated`, for an id already applied); 400 in the user's
    language when the entry cannot be read or a rule refuses it."""
    meeting = writable_meeting_or_404(request, pk)
    if len(request.body) > MAX_ENTRY_BYTES:
        return JsonResponse({"error": _("The entry is too large.")}, status=400)
    try:
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise BadEntry("entry")
        texts, seen = _texts(data.get("texts")), _texts(data.get("seen", {}))
        written_at = parse_datetime(data["written_at"]) if data.get("written_at") else None
        outcome, new = offline_services.meeting_apply_offline_record(
            scope=scope_for(request.user),
            by=request.user,
            meeting=meeting,
            client_id=uuid.UUID(str(data["id"])),
            texts=texts,
            seen=seen,
            written_at=written_at if isinstance(written_at, datetime.datetime) else None,
        )
    except (BadEntry, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return JsonResponse(
            {"error": _("The phone sent an entry the registry cannot read.")}, status=400
        )
    except DomainError as exc:
        return JsonResponse({"error": str(exc.message)}, status=400)
    return JsonResponse({**outcome, "repeated": not new})


def _texts(raw) -> dict[str, str]:
    if not isinstance(raw, dict) or not set(raw) <= set(offline_services.RECORD_FIELDS):
        raise BadEntry("texts")
    if not all(isinstance(value, str) for value in raw.values()):
        raise BadEntry("texts")
    return dict(raw)


def _form_errors(form) -> str:
    """The form's messages in one line, each after its field's label."""
    parts: list[str] = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        parts.extend(f"{label}: {error}" if label else str(error) for error in errors)
    return " ".join(parts)


@login_required
@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, from the site's root so that it answers for every page
    (a Vietnamese page instead of the browser's error when there is no signal).
    A template, so that it names the static files by their collected names."""
    response = render(request, "meetings/offline/sw.js", content_type="text/javascript")
    # Without this the browser would keep an old worker for up to a day.
    response["Service-Worker-Allowed"] = "/"
    return response


@login_required
@require_GET
def offline_page(request: HttpRequest) -> HttpResponse:
    """What a page that needs the network shows when there is none. It holds no
    personal data, so the service worker may keep it."""
    return render(request, "meetings/offline/offline.html")


@login_required
@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "meetings/offline/manifest.webmanifest",
        content_type="application/manifest+json",
    )
