"""The top floor's own records: a commune's template of the report upward."""

from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from branches.models import Commune


class ReportTemplate(models.Model):
    """A commune's own Word template of the report upward, used instead of the default
    one for its reports (and its branches') dated within the template's validity."""

    commune = models.ForeignKey(
        Commune,
        verbose_name=_("commune"),
        on_delete=models.PROTECT,
        related_name="report_templates",
    )
    file = models.FileField(
        _("template (.docx)"),
        upload_to="report_templates/",
        validators=[FileExtensionValidator(["docx"])],
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("report template")
        verbose_name_plural = _("report templates")
        ordering = ["commune", "-uploaded_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gte=F("valid_from")),
                name="report_template_validity_in_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.commune}: {self.file.name}"

    def clean(self):
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("A template cannot end before it begins.")})
