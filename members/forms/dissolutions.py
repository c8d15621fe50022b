"""The dissolution form: decision, date and where each member goes."""

from django import forms
from django.utils.translation import gettext_lazy as _

from branches.models import unit_label
from pacnam.lib.forms import date_field


class DissolutionForm(forms.Form):
    """Decision and date, plus one destination per member (fields `assign-<member
    id>`), so the wizard works without JavaScript. A member's select starts on the
    proposed branch (the village branch where they live); any member's destination
    can be changed. An empty or missing value keeps the proposal."""

    decision = forms.CharField(label=_("Decision number"), max_length=100)
    on = date_field(_("Date of the dissolution"))

    def __init__(self, *args, rows=None, destinations=(), **kwargs):
        """`rows`: the plan, for the page that shows it: each member's select lists
        the village branches of the commune, the one where they live on top, then
        (when the user asked for all of them) the others. Without it (the
        confirmation post) the form reads whichever `assign-<member id>` fields
        were posted; the service checks them against the plan it builds under
        its lock."""
        super().__init__(*args, **kwargs)
        self.rows = list(rows or ())
        # One list of branches for every select: the page's query count does
        # not grow with the number of members.
        self.destinations = {str(b.pk): b for b in destinations}
        if rows is None:
            names = [name for name in (self.data or {}) if name.removeprefix("assign-").isdigit()]
            flat = [("", "")] + [(key, b.name) for key, b in self.destinations.items()]
            for name in names:
                self.fields[name] = forms.ChoiceField(choices=flat, required=False)
            return
        for row in self.rows:
            field = forms.ChoiceField(
                label=row.member.full_name,
                choices=self._choices(row),
                required=False,
                initial=str(row.proposed.pk) if row.proposed else "",
            )
            self.fields[f"assign-{row.member.pk}"] = field

    def _choices(self, row) -> list:
        near: list[tuple[str, str]] = []
        others: list[tuple[str, str]] = []
        for key, branch in self.destinations.items():
            same_commune = branch.commune_id == row.from_branch.commune_id
            group = near if same_commune and branch.kind == "village" else others
            label = unit_label(branch)
            if (
                branch.village_id is not None
                and branch.village_id == row.member.residence_village_id
            ):
                # The branch of the village where the member lives: on top.
                group.insert(0, (key, _("%(branch)s (where they live)") % {"branch": label}))
            else:
                group.append((key, label))
        choices: list[tuple[object, object]] = (
            [] if row.proposed is not None else [("", _("needs a decision"))]
        )
        choices.append(
            (_("Village branches of %(commune)s") % {"commune": row.from_branch.commune.name}, near)
        )
        if others:
            choices.append((_("Other branches"), others))
        return choices

    def assignment_rows(self):
        """(plan row, its select) for every member."""
        return [(row, self[f"assign-{row.member.pk}"]) for row in self.rows]

    def assignments(self) -> dict:
        chosen = {}
        for name, value in self.cleaned_data.items():
            if name.startswith("assign-") and value:
                chosen[int(name.removeprefix("assign-"))] = self.destinations[value]
        return chosen
