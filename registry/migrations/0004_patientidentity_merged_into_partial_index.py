"""An index of the patient IDs merged into another, and of those alone.

A stored query by patient follows the chain of IDs merged into it (ITI TF-3 4.2.3.1.4). Nearly
every ID is merged into none, so the foreign key's own index holds one value, NULL, for nearly
every row: once ANALYZE has counted that, SQLite scans the table rather than use it. An index
of the merged rows alone stays small and is used by both databases. Written as SQL, since a
partial index on a foreign key changes nothing in the model's state.
"""

from django.db import migrations

INDEX = "registry_patientidentity_merged_into_partial"


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_demo_xds_i_codes")]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX {INDEX} ON registry_patientidentity (merged_into_id) "
                "WHERE merged_into_id IS NOT NULL",
            reverse_sql=f"DROP INDEX {INDEX}",
        ),
    ]
