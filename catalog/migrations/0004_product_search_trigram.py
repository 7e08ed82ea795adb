"""The product search's trigram indexes (pg_trgm, GIN) on name and sku. On UPPER(...), the
expression Django's `icontains` compares, so that one index serves both the substring match and
the word-similarity match (`%>`; trigrams ignore case anyway). PostgreSQL only: SQLite ranks
its few products without them (catalog.selectors.product_search)."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "catalog_product_name_trgm": "name",
    "catalog_product_sku_trgm": "sku",
}


# The word-similarity match costs microseconds a row, not the planner's default of one
# operator: told so, PostgreSQL takes the trigram index instead of scanning a big catalog.
OPERATOR_COST = "ALTER FUNCTION word_similarity_commutator_op(text, text) COST {}"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(OPERATOR_COST.format(1000))
    for index, column in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {index} ON catalog_product USING gin (UPPER({column}) gin_trgm_ops)")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(OPERATOR_COST.format(1))
    for index in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_policy_and_control_audit")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
