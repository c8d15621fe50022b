"""The second factor's pages (pacnam.security.second_factor) and the read log's page
(pacnam.security.readlog), for district officers.

Access is asked of Django's permissions (the roles grant them through
branches.access.RolePermissionBackend), so this base module imports no app.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from pacnam.audit.trail import audit_log
from pacnam.lib.pagination import CappedPaginator
from pacnam.lib.requests import signed_in_user
from pacnam.models import ReadAction, ReadLogEntry
from pacnam.security import second_factor as sf


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("dashboard")


@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    """After the password: the code from the authenticator app, or a recovery code."""
    state = request.session.get(sf.STATE_KEY)
    if state != sf.NEEDED:
        return redirect(_next_url(request))
    if sf.confirmed_totp(request.user) is None:
        return redirect(f"{reverse('second_factor_setup')}?{request.GET.urlencode()}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = sf.verify_code(request.user, form.cleaned_data["code"])
        if device is not None:
            sf.mark_verified(request, device)
            return redirect(_next_url(request))
        wait = sf.throttled_seconds(request.user)
        if wait:
            form.add_error(
                "code",
                _("Too many wrong codes. Wait %(seconds)d seconds and try again.")
                % {"seconds": wait},
            )
        else:
            form.add_error(
                "code",
                _(
                    "This code is not right, or it has expired. Enter the code "
                    "the app shows now, or one of your recovery codes."
                ),
            )
    return render(
        request, "registration/second_factor.html", {"form": form, "next": _next_url(request)}
    )


@login_required
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app (a QR code), or, once set up, see that it is."""
    user = signed_in_user(request)
    has_device = sf.confirmed_totp(user) is not None
    if has_device and request.session.get(sf.STATE_KEY) == sf.NEEDED:
        # A device is set up but this session has not shown a code yet: replacing
        # the device here would let a stolen password take over the account.
        return redirect(f"{reverse('second_factor')}?{request.GET.urlencode()}")
    if has_device and request.method != "POST":
        return render(request, "registration/second_factor_setup.html", {"has_device": True})
    key = sf.pending_key(request.session)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = sf.confirm_setup(user, key, form.cleaned_data["code"])
        if codes is not None:
            request.session.pop(sf.PENDING_KEY, None)
            audit_log("second_factor_set_up", actor=user, obj=user)
            device = sf.confirmed_totp(user)
            sf.mark_verified(request, device)
            return render(
                request,
                "registration/second_factor_codes.html",
                {"codes": codes, "next": _next_url(request)},
            )
        form.add_error(
            "code",
            _(
                "This code does not match. Check the phone's time and enter "
                "the code the app shows now."
            ),
        )
    url = sf.otpauth_url(user, key)
    return render(
        request,
        "registration/second_factor_setup.html",
        {
            "has_device": False,
            "form": form,
            "qr": sf.qr_data_uri(url),
            "secret": sf.secret_text(key),
            "required": sf.is_required(user),
            "next": _next_url(request),
        },
    )


@require_POST
@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """Ten new recovery codes (the old ones stop working); only after a code this session."""
    if request.session.get(sf.STATE_KEY) != sf.VERIFIED or sf.confirmed_totp(request.user) is None:
        raise Http404
    codes = sf.new_recovery_codes(request.user)
    user = signed_in_user(request)
    audit_log("second_factor_recovery_codes", actor=user, obj=user)
    return render(
        request,
        "registration/second_factor_codes.html",
        {"codes": codes, "next": reverse("dashboard")},
    )


# --- The read log ---

READ_LOG_PAGE = 50
READ_LOG_CAP = 5000


@login_required
def read_log(request: HttpRequest) -> HttpResponse:
    """Who read what, newest first, for district officers (and administrators);
    anyone else gets a 404. Filters: username, member number, action."""
    if not request.user.has_perm(sf.REVIEW_READS_PERMISSION):
        raise Http404
    entries = ReadLogEntry.objects.order_by("-at", "-id")
    username = request.GET.get("user", "").strip()
    member = request.GET.get("member", "").strip()
    action = request.GET.get("action", "")
    if username:
        entries = entries.filter(actor_name=username)
    if member.isdigit():
        entries = entries.filter(object_type="members.member", object_id=member)
    if action in ReadAction.values:
        entries = entries.filter(action=action)
    page = CappedPaginator(entries, READ_LOG_PAGE, cap=READ_LOG_CAP).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "pacnam/read_log.html",
        {
            "page": page,
            "query": query.urlencode(),
            "filters": {"user": username, "member": member, "action": action},
            "actions": ReadAction.choices,
        },
    )
