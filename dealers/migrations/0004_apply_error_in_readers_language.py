from django.db import migrations, models


def texts_from_sentences(apps, schema_editor):
    """Keep an old sentence as a stored text (shown as it was written)."""
    requests = apps.get_model("dealers", "DealerChangeRequest")
    for change_request in requests.objects.exclude(apply_error=""):
        change_request.apply_error_texts = [{"text": change_request.apply_error}]
        change_request.save(update_fields=["apply_error_texts"])


class Migration(migrations.Migration):
    dependencies = [
        ("dealers", "0003_workflow_kit"),
    ]

    operations = [
        migrations.AddField(
            model_name="dealerchangerequest",
            name="apply_error_texts",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(texts_from_sentences, migrations.RunPython.noop),
        migrations.RemoveField(model_name="dealerchangerequest", name="apply_error"),
        migrations.RenameField(
            model_name="dealerchangerequest", old_name="apply_error_texts", new_name="apply_error"
        ),
        migrations.AlterField(
            model_name="dealerchangerequest",
            name="apply_error",
            field=models.JSONField(
                blank=True, default=list, verbose_name="why it could not be applied"
            ),
        ),
    ]
