"""Member list and search, member page, and the add/edit forms."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from branches.access import NONE, get_in_scope_or_404, scope_for
from pacnam.audit.trail import audit_for_member
from pacnam.lib.errors import DomainError, NotAllowed
from pacnam.lib.pagination import CappedPaginator
from pacnam.lib.versioning import save_if_unchanged
from pacnam.security.readlog import log_member_view

from ..forms.members import MemberFilterForm, MemberForm
from ..models import Member
from ..selectors.members import member_timeline
from ..services.members import member_create

PAGE_SIZE = 50
# A district's whole list is counted exactly; a province's is "more than 5,000":
# 100 pages, each found by the name index without a long OFFSET walk.
LIST_CAP = 5000


@login_required
def member_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    form = MemberFilterForm(request.GET or None, scope=scope)
    if not request.GET:
        form = MemberFilterForm({}, scope=scope)
    members = (
        form.filter()
        .select_related("branch__commune", "residence_village")
        .order_by("folded_name", "pk")
    )
    page = CappedPaginator(members, PAGE_SIZE, cap=LIST_CAP).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "members/member_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_add": scope.can_edit_registry(),
        },
    )


@login_required
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    member = get_in_scope_or_404(
        Member.objects.visible_to(scope).select_related(
            "branch__commune", "residence_village__commune"
        ),
        pk=pk,
    )
    log_member_view(request, member)
    context = {
        "member": member,
        "audit_entries": audit_for_member(member, limit=20),
        "can_edit": scope.can_edit_commune(member.branch.commune_id),
    }
    context["timeline"] = member_timeline(member)
    return render(request, "members/member_detail.html", context)


@login_required
def member_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    scope = scope_for(request.user)
    if scope.level == NONE:
        raise Http404
    # Outside the scope: 404. Inside it but read-only (a branch secretary): 403.
    member = get_in_scope_or_404(Member.objects.visible_to(scope), pk=pk) if pk else Member()
    if not scope.can_edit_registry() or (
        pk and not scope.can_edit_commune(member.branch.commune_id)
    ):
        raise NotAllowed
    form = MemberForm(request.POST or None, instance=member, scope=scope)
    if request.method == "POST" and form.is_valid():
        try:
            if member.pk:
                save_if_unchanged(form.save(commit=False), expected_version=form.opened_version)
            else:
                member = member_create(
                    member=form.save(commit=False),
                    branch=form.cleaned_data["branch"],
                    since=form.cleaned_data.get("since"),
                )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("%(name)s was saved.") % {"name": member.full_name})
            return redirect(member)
    return render(
        request, "members/member_form.html", {"form": form, "member": member if pk else None}
    )
