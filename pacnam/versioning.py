"""Optimistic locking for forms: saving over someone else's change warns instead
of overwriting it.

Each editable record carries a `version`. The edit form sends back the version
it was opened with; the save locks the row, compares, and bumps it.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from .errors import DomainError


class EditConflict(DomainError):
    pass


@transaction.atomic
def save_if_unchanged(instance, *, expected_version: int) -> None:
    """Save `instance` only if nobody saved it since `expected_version` was read.

    The row lock makes check-and-bump atomic: without it two secretaries
    submitting at the same moment would both see the old version and the second
    would silently overwrite the first (last write wins).
    """
    model = type(instance)
    current = model.objects.select_for_update().values_list("version", flat=True).get(pk=instance.pk)
    if current != expected_version:
        raise EditConflict(
            _(
                "Someone else saved this record after you opened the form. "
                "Your changes were not saved: reload the page to see their version, then edit again."
            )
        )
    instance.version = current + 1
    instance.save()
