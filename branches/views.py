"""The forms for villages and branches. The pages of a commune, a village and a
branch draw on every app and live on the top floor (overview/views/places.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from pacnam.lib.errors import DomainError, NotAllowed
from pacnam.lib.versioning import save_if_unchanged

from .access import NONE, get_in_scope_or_404, scope_for
from .forms import BranchForm, VillageForm
from .models import Branch
from .services.units import commune_check_accepts


def _edit(request, *, form_class, instance, template, scope, success_message):
    """Create or edit a village or branch: scope checked by the caller, version checked here."""
    form = form_class(request.POST or None, instance=instance, scope=scope)
    if request.method == "POST" and form.is_valid():
        obj = form.save(commit=False)
        if not scope.can_edit_commune(obj.commune_id):
            raise Http404
        try:
            if obj.pk:
                save_if_unchanged(obj, expected_version=form.opened_version)
            else:
                # A ceased commune takes no new village or branch.
                start = getattr(obj, "valid_from", None) or getattr(obj, "founded_on", None)
                commune_check_accepts(obj.commune, start or timezone.localdate())
                obj.save()
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, success_message)
            return redirect(obj.get_absolute_url())
    return render(request, template, {"form": form, "object": instance if instance.pk else None})


@login_required
def village_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    scope = scope_for(request.user)
    if scope.level == NONE:
        raise Http404
    from .models import Village

    # Outside the scope: 404. Inside it but read-only (a branch secretary): 403.
    village = get_in_scope_or_404(scope.villages(), pk=pk) if pk else Village()
    if not scope.can_edit_registry() or (pk and not scope.can_edit_commune(village.commune_id)):
        raise NotAllowed
    return _edit(
        request,
        form_class=VillageForm,
        instance=village,
        template="branches/village_form.html",
        scope=scope,
        success_message=_("The village was saved."),
    )


@login_required
def branch_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    scope = scope_for(request.user)
    if scope.level == NONE:
        raise Http404
    branch = get_in_scope_or_404(scope.branches(), pk=pk) if pk else Branch()
    if not scope.can_edit_registry() or (pk and not scope.can_edit_commune(branch.commune_id)):
        raise NotAllowed
    return _edit(
        request,
        form_class=BranchForm,
        instance=branch,
        template="branches/branch_form.html",
        scope=scope,
        success_message=_("The branch was saved."),
    )
