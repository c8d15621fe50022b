"""The dissolution form: decision, date and the destinations a person chooses.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from pacnam.forms import date_field


class DissolutionForm(forms.Form):
    """Decision and date, plus one destination per member who needs a decision
    (fields `assign-<member id>`), so the wizard works without JavaScript."""

    decision = forms.CharField(label=_("Decision number"), max_length=100)
    on = date_field(_("Date of the dissolution"))

    def __init__(self, *args, rows=None, branches=(), **kwargs):
        """`rows`: the plan, for the page that shows it. Without it (the confirmation
        post) the form reads whichever `assign-<member id>` fields were posted; the
        service checks them against the plan it builds under its lock."""
        super().__init__(*args, **kwargs)
        self.rows = list(rows or ())
        # One list of branches for every select: the page's query count does
        # not grow with the number of members who need a decision.
        self.branches = {str(b.pk): b for b in branches}
        choices = [("", _("needs a decision"))] + [
            (key, f"{b.name} ({b.commune.name})") for key, b in self.branches.items()
        ]
        if rows is None:
            names = [name for name in (self.data or {}) if name.removeprefix("assign-").isdigit()]
        else:
            names = [f"assign-{row.member.pk}" for row in self.rows if row.proposed is None]
        for name in names:
            self.fields[name] = forms.ChoiceField(choices=choices, required=False)
        for row in self.rows:
            if row.proposed is None:
                self.fields[f"assign-{row.member.pk}"].label = row.member.full_name

    def assignment_rows(self):
        """(plan row, its select) for each member who needs a decision."""
        return [(row, self[f"assign-{row.member.pk}"]) for row in self.rows if row.proposed is None]

    def assignments(self) -> dict:
        chosen = {}
        for name, value in self.cleaned_data.items():
            if name.startswith("assign-") and value:
                chosen[int(name.removeprefix("assign-"))] = self.branches[value]
        return chosen
