"""Model fields that several apps declare alike."""

from django.conf import settings
from django.db import models


def actor_field(
    verbose_name=None, *, keep_user: bool = True, blank: bool = True, **kwargs
) -> models.ForeignKey:
    """Who took a step: a user, empty when the system took it (a command).

    keep_user: PROTECT, for the steps of a record that must stay true (a transfer, a
    dissolution): a user who acted there is deactivated, never deleted. Otherwise
    deleting the user empties the field (SET_NULL), as for who typed a note.
    """
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        null=True,
        blank=blank,
        on_delete=models.PROTECT if keep_user else models.SET_NULL,
        related_name="+",
        **kwargs,
    )


def own_field(model, name: str) -> models.Field:
    """`model._meta.get_field(name)` for a field the model declares, not the other
    side of a relation (which has no column, and no verbose_name of its own)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field), f"{name} is the other side of a relation"
    return field
