"""One row per patient an event names (searchable by index), the chain verifications' results,
and the patients of the events recorded before this migration."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

BATCH = 5000


def patients_fill(apps: Any, schema_editor: Any) -> None:
    """Each existing event's "|"-joined patient IDs, one row each, walked in id order."""
    event_model = apps.get_model("audit", "AuditEvent")
    patient_model = apps.get_model("audit", "AuditPatient")
    events = event_model.objects.exclude(patient_ids="").order_by("id")
    last = 0
    while True:
        rows = list(events.filter(id__gt=last).values_list("id", "patient_ids")[:BATCH])
        if not rows:
            return
        patient_model.objects.bulk_create(
            [patient_model(event_id=pk, patient_id=cx[:256])
             for pk, patient_ids in rows for cx in patient_ids.split("|") if cx],
            batch_size=BATCH)
        last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditVerification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('verified_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('verified_by', models.CharField(max_length=150)),
                ('intact', models.BooleanField()),
                ('checked', models.BigIntegerField()),
                ('unsealed', models.BigIntegerField()),
                ('broken_event_id', models.BigIntegerField(null=True)),
                ('broken_sequence_id', models.BigIntegerField(null=True)),
                ('reason', models.TextField(blank=True)),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='AuditPatient',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('patient_id', models.CharField(max_length=256)),
                ('event', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='patients', to='audit.auditevent')),
            ],
            options={
                'indexes': [models.Index(fields=['patient_id'], name='audit_patient_id', opclasses=['varchar_pattern_ops'])],
            },
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['user_id'], name='audit_user_prefix', opclasses=['varchar_pattern_ops']),
        ),
        migrations.RunPython(patients_fill, migrations.RunPython.noop, elidable=True),
    ]
