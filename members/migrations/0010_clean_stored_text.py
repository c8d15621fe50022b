"""Text stored right (issue 15): names stored before clean_text existed, with the
look-alike Ð (U+00D0) for Đ or in decomposed letters, are stored as clean_text
gives them, and every folded name is computed again, so that such a name is found
by searching "dang". Backwards it does nothing: the old bytes are not worth
restoring, and the forward step may run again at any time."""

from django.db import migrations

from pacnam.lib.text import clean_name, clean_text, fold

CHUNK = 2000


def _clean(apps, model_name: str, fields: tuple[str, ...]) -> None:
    model = apps.get_model("members", model_name)
    changed = []
    rows = model.objects.order_by("pk").values_list("pk", "folded_name", *fields)
    for pk, folded, *values in rows.iterator(chunk_size=CHUNK):
        cleaned = [clean_name(v) if name == "full_name" else clean_text(v) for name, v in zip(fields, values, strict=True)]
        new_folded = fold(cleaned[0])
        if cleaned != values or new_folded != folded:
            obj = model(pk=pk, folded_name=new_folded, **dict(zip(fields, cleaned, strict=True)))
            changed.append(obj)
        if len(changed) >= CHUNK:
            model.objects.bulk_update(changed, ["folded_name", *fields])
            changed = []
    if changed:
        model.objects.bulk_update(changed, ["folded_name", *fields])


def clean_stored_text(apps, schema_editor):
    _clean(apps, "Member", ("full_name", "ethnicity", "position", "card_number"))
    _clean(apps, "Candidate", ("full_name", "ethnicity", "withdrawal_reason"))


class Migration(migrations.Migration):

    dependencies = [
        ("members", "0009_every_record_in_the_trail"),
    ]

    operations = [
        migrations.RunPython(clean_stored_text, migrations.RunPython.noop, elidable=True),
    ]
