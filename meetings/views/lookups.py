"""The meeting a user may read, or may record, or a 404."""

from django.http import Http404, HttpRequest

from branches.access import get_in_scope_or_404, scope_for
from pacnam.lib.errors import DomainError

from ..models import Meeting


def meetings_in_scope(scope):
    return Meeting.objects.filter(branch__in=scope.branches())


def meeting_or_404(request: HttpRequest, pk: int) -> Meeting:
    scope = scope_for(request.user)
    return get_in_scope_or_404(
        meetings_in_scope(scope).select_related("branch__commune", "chair", "secretary"), pk=pk
    )


def writable_meeting_or_404(request: HttpRequest, pk: int) -> Meeting:
    meeting = meeting_or_404(request, pk)
    if not scope_for(request.user).can_edit_branch(meeting.branch):
        raise Http404
    return meeting


def field_error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
