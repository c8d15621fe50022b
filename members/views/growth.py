"""Pages of the admission pipeline, probation, annual ratings and Party badges.

Access as for rosters: the district officer sees and does everything, a commune
secretary works in their commune, a branch secretary reads their branch's
records (a change is refused with 403), anyone else gets 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Min, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from branches.access import Scope, get_in_scope_or_404, scope_for
from pacnam.lib.errors import DomainError, NotAllowed

from ..forms.growth import (
    CandidateForm,
    CeremonyForm,
    DecisionForm,
    IntroducersForm,
    RatingForm,
    RecognitionForm,
    StepForm,
    WithdrawForm,
)
from ..models import (
    Candidate,
    CandidateIntroducer,
    CandidateStep,
    CandidateStepRecord,
    Evaluation,
    Member,
    Rating,
)
from ..selectors.growth import BADGE_YEARS, badges_by_commune, probations_due, rating_report
from ..services import growth


def _scoped_candidates(scope: Scope):
    return Candidate.objects.filter(branch__in=scope.branches())


def _can_change(scope: Scope, branch) -> bool:
    return scope.can_edit_commune(branch.commune_id)


def _require_change(scope: Scope, branch) -> None:
    if not _can_change(scope, branch):
        raise NotAllowed


def _form_error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _year_param(request: HttpRequest, default: int) -> int:
    try:
        year = int(request.GET.get("year", default))
    except ValueError:
        return default
    return year if 1930 <= year <= 2200 else default


# --- Candidates ---


@login_required
def candidate_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    show_all = request.GET.get("show") == "all"
    candidates = _scoped_candidates(scope).select_related("branch", "branch__commune")
    if not show_all:
        candidates = candidates.open()
    today = timezone.localdate()
    candidates = list(candidates)
    for candidate in candidates:
        candidate.warnings = candidate.flags(today)
    return render(
        request,
        "members/growth/candidate_list.html",
        {
            "candidates": candidates,
            "show_all": show_all,
            "can_create": scope.can_edit_registry(),
        },
    )


@login_required
def candidate_create(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    if scope.level == "none":
        raise Http404
    if not scope.can_edit_registry():
        raise NotAllowed
    form = CandidateForm(request.POST or None, scope=scope)
    if request.method == "POST" and form.is_valid():
        try:
            candidate = growth.candidate_create(by=request.user, **form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Candidate registered."))
            return redirect("growth:candidate_detail", pk=candidate.pk)
    return render(request, "members/growth/candidate_form.html", {"form": form})


def _step_form(candidate: Candidate, scope: Scope, data=None):
    step = candidate.next_step
    if step is None:
        return None
    if step == CandidateStep.INTRODUCERS:
        # The commune's members, not just the branch's: choosing someone from the
        # wrong branch then gets the service's clear refusal, not "invalid choice".
        members = (
            Member.objects.visible_to(scope)
            .current()
            .filter(branch__commune_id=candidate.branch.commune_id)
            .select_related("branch")
            .order_by("branch_id", "folded_name")
        )
        return IntroducersForm(data, members=members, prefix="step")
    if step == CandidateStep.DECISION:
        return DecisionForm(data, prefix="step")
    if step == CandidateStep.CEREMONY:
        return CeremonyForm(data, prefix="step")
    form = StepForm(data, prefix="step")
    if step not in growth.STEP_NUMBER_FIELD:
        del form.fields["number"]
    return form


def _render_detail(request, candidate, scope, step_form=None, withdraw_form=None, status=200):
    can_change = _can_change(scope, candidate.branch)
    if can_change and step_form is None:
        step_form = _step_form(candidate, scope)
    if can_change and withdraw_form is None and candidate.is_open:
        withdraw_form = WithdrawForm(prefix="withdraw")
    return render(
        request,
        "members/growth/candidate_detail.html",
        {
            "candidate": candidate,
            "warnings": candidate.flags(timezone.localdate()),
            "can_change": can_change,
            "step_form": step_form if can_change else None,
            "withdraw_form": withdraw_form if can_change and candidate.is_open else None,
            "next_step": candidate.next_step,
            "next_step_label": CandidateStep(candidate.next_step).label
            if candidate.next_step
            else "",
        },
        status=status,
    )


def _candidate_in_scope(scope: Scope, pk: int) -> Candidate:
    return get_in_scope_or_404(
        _scoped_candidates(scope)
        .select_related("branch", "branch__commune", "residence_village", "member")
        .prefetch_related(
            Prefetch(
                "introducers",
                queryset=CandidateIntroducer.objects.select_related("member"),
            ),
            Prefetch(
                "records",
                queryset=CandidateStepRecord.objects.select_related("recorded_by"),
            ),
        ),
        pk=pk,
    )


@login_required
def candidate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    candidate = _candidate_in_scope(scope, pk)
    return _render_detail(request, candidate, scope)


@login_required
@require_POST
def candidate_step(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the candidate's next step (the form depends on which step it is)."""
    scope = scope_for(request.user)
    candidate = _candidate_in_scope(scope, pk)
    _require_change(scope, candidate.branch)
    form = _step_form(candidate, scope, request.POST)
    if form is None:
        messages.error(request, _("Every step is already recorded."))
        return redirect("growth:candidate_detail", pk=pk)
    if form.is_valid():
        data = form.cleaned_data
        step = candidate.next_step
        assert step is not None  # _step_form gave a form: a step is left
        try:
            if step == CandidateStep.INTRODUCERS:
                growth.candidate_introducers_record(
                    by=request.user,
                    candidate=candidate,
                    introducers=[
                        (data["first"], data["first_since"]),
                        (data["second"], data["second_since"]),
                    ],
                    on=data["on"],
                )
            elif step == CandidateStep.DECISION:
                growth.candidate_decision_record(
                    by=request.user, candidate=candidate, number=data["number"], on=data["on"]
                )
            elif step == CandidateStep.CEREMONY:
                growth.candidate_admit(by=request.user, candidate=candidate, on=data["on"])
            else:
                growth.candidate_step_record(
                    by=request.user,
                    candidate=candidate,
                    step=step,
                    on=data["on"],
                    number=data.get("number", ""),
                )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request, _("Step recorded: %(step)s.") % {"step": CandidateStep(step).label}
            )
            return redirect("growth:candidate_detail", pk=pk)
    return _render_detail(request, candidate, scope, step_form=form, status=400)


@login_required
@require_POST
def candidate_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    candidate = _candidate_in_scope(scope, pk)
    _require_change(scope, candidate.branch)
    form = WithdrawForm(request.POST, prefix="withdraw")
    if form.is_valid():
        try:
            growth.candidate_withdraw(by=request.user, candidate=candidate, **form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("The candidate is no longer followed."))
            return redirect("growth:candidate_detail", pk=pk)
    return _render_detail(request, candidate, scope, withdraw_form=form, status=400)


# --- Probation ---


@login_required
def probation_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    today = timezone.localdate()
    probations = probations_due(scope, today)
    # The same rule member_recognize applies, so no link answers 403 (a commune that
    # ceased on 30/06/2025 may no longer be acted for).
    recognisable = {
        row.member.pk
        for rows in probations.values()
        for row in rows
        if _can_change(scope, row.member.branch)
    }
    return render(
        request,
        "members/growth/probation_list.html",
        {
            "probations": probations,
            "today": today,
            "can_change": bool(recognisable),
            "recognisable": recognisable,
        },
    )


@login_required
def member_recognize(request: HttpRequest, member_pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    member = get_in_scope_or_404(
        Member.objects.visible_to(scope).select_related("branch", "branch__commune"), pk=member_pk
    )
    _require_change(scope, member.branch)
    form = RecognitionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            growth.member_recognize_full(by=request.user, member=member, **form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request, _("%(name)s is now a full member.") % {"name": member.full_name}
            )
            return redirect("growth:probation_list")
    return render(request, "members/growth/recognize_form.html", {"form": form, "member": member})


# --- Ratings ---


@login_required
def rating_index(request: HttpRequest) -> HttpResponse:
    """The year's report, and the branches whose ratings the user may open."""
    scope = scope_for(request.user)
    this_year = timezone.localdate().year
    year = _year_param(request, this_year - 1 if timezone.localdate().month < 12 else this_year)
    years = [year - 2, year - 1, year]
    branches = (
        scope.branches()
        .active()
        .select_related("commune")
        .annotate(rated=Count("evaluations", filter=Q(evaluations__year=year)))
    )
    return render(
        request,
        "members/growth/rating_report.html",
        {
            "year": year,
            "report": rating_report(scope, years),
            # A commune secretary's totals are their commune's, not the district's.
            "show_district": scope.is_officer,
            "branches": branches,
            "ratings": Rating.choices,
            "years_choice": list(range(this_year, this_year - 6, -1)),
        },
    )


@login_required
def rating_form(request: HttpRequest, branch_pk: int, year: int) -> HttpResponse:
    scope = scope_for(request.user)
    branch = get_in_scope_or_404(scope.branches().select_related("commune"), pk=branch_pk)
    if not 1930 <= year <= timezone.localdate().year:
        raise Http404
    can_change = _can_change(scope, branch)
    if request.method == "POST" and not can_change:
        raise NotAllowed
    members = list(growth.rateable_members(branch, year).order_by("folded_name", "pk"))
    existing = Evaluation.objects.filter(year=year).filter(
        Q(member__in=[m.pk for m in members]) | Q(branch=branch, member__isnull=True)
    )
    initial_ratings, initial_branch = {}, None
    for evaluation in existing:
        if evaluation.member_id is None:
            initial_branch = evaluation.rating
        else:
            initial_ratings[evaluation.member_id] = evaluation.rating
    form = RatingForm(
        request.POST if request.method == "POST" else None,
        members=members,
        branch=branch,
        initial_ratings=initial_ratings,
        initial_branch=initial_branch,
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = growth.evaluations_record(
                by=request.user,
                branch=branch,
                year=year,
                member_ratings=form.member_ratings(),
                branch_rating=form.cleaned_data["branch"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("%(count)d ratings saved.") % {"count": saved})
            return redirect("growth:rating_form", branch_pk=branch.pk, year=year)
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "members/growth/rating_form.html",
        {"form": form, "branch": branch, "year": year, "can_change": can_change},
    )


# --- Party badges ---


@login_required
def badge_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    this_year = timezone.localdate().year
    year = _year_param(request, this_year)
    # The registry's years: from the first year one of its members reached the
    # first badge (30 years after the earliest admission) to two years ahead.
    first_admission = Member.objects.visible_to(scope).aggregate(first=Min("admitted_on"))["first"]
    first_year = (
        min(first_admission.year + BADGE_YEARS[0], this_year) if first_admission else this_year
    )
    years = sorted({*range(first_year, this_year + 3), year}, reverse=True)
    return render(
        request,
        "members/growth/badge_list.html",
        {"year": year, "groups": badges_by_commune(scope, year), "years_choice": years},
    )
