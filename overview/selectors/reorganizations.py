"""What a reorganisation of communes carries into each new commune: its villages,
branches and members (members are counted here, a floor above branches, where
the plan is made)."""

from django.db.models import Count

from branches.services.reorganizations import ReorganizationPlan
from members.models import Member


def plan_summary(plan: ReorganizationPlan) -> list[dict]:
    """One line per new commune: its code and name, province, the old communes
    merged into it, and how many villages, branches and current members it will
    have. One query for the members, whatever the number of communes."""
    branch_to_new = {b.pk: code for code, new in plan.news.items() for b in new.branches}
    members = dict(
        Member.objects.current()
        .filter(branch_id__in=list(branch_to_new))
        .values_list("branch_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("branch_id", "n")
    )
    per_new: dict[str, int] = {}
    for branch_id, n in members.items():
        per_new[branch_to_new[branch_id]] = per_new.get(branch_to_new[branch_id], 0) + n
    return [
        {
            "code": code,
            "name": new.name,
            "province_code": new.province_code,
            "province_name": new.province_name,
            "olds": new.olds,
            "villages": len(new.villages),
            "branches": len(new.branches),
            "members": per_new.get(code, 0),
        }
        for code, new in plan.news.items()
    ]
