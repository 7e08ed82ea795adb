"""Statements compiled once and re-run with new values (`catalog.prepared`)."""

import datetime as dt
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.db.models.expressions import RawSQL

from annotator.models import Label, Task
from catalog.models import Product, Store
from catalog.prepared import Prepared, PreparedInsert, model_from_row
from tests.annotator.labelling import record
from tests.annotator.work import add_tasks, work_queue

pytestmark = pytest.mark.django_db


def run(statement):
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        return cursor.fetchall()


def test_a_prepared_statement_answers_what_the_queryset_answers_for_each_value(s001, s002):
    calls = []

    def build(*, code):
        calls.append(code)
        return Store.objects.filter(code=code).values_list("pk", "name").query.sql_with_params()

    by_code = Prepared(build, code=str)
    for store in (s001, s002):
        assert run(by_code(code=store.code)) == [(store.pk, store.name)]
    assert run(by_code(code="NOPE")) == []
    assert len(calls) == 2  # built twice (the check), then never again


def test_ids_and_uuids_are_swapped_wherever_they_appear(s001, alice):
    queue = work_queue(s001, alice)
    (task,) = add_tasks(queue, 1)

    def build(*, task_id, store_id):
        mine = Task.objects.filter(pk=task_id, store_id=store_id)
        tasks = mine | Task.objects.filter(pk=task_id, store_id=store_id, priority=7)
        return tasks.values_list("pk").query.sql_with_params()

    statement = Prepared(build, task_id=uuid.UUID, store_id=int)
    ((found,),) = run(statement(task_id=task.pk, store_id=s001.pk))
    assert uuid.UUID(str(found)) == task.pk  # SQLite keeps UUIDs as hex text
    assert len(run(statement(task_id=str(task.pk), store_id=s001.pk))) == 1
    assert run(statement(task_id=uuid.uuid4(), store_id=s001.pk)) == []
    assert run(statement(task_id=task.pk, store_id=s001.pk + 1000)) == []


def test_a_statement_whose_sql_depends_on_a_value_is_refused():
    def build(*, code):
        # The text changes with the value: it must be a shape, not an argument.
        return Store.objects.filter(code=code).annotate(tag=Value(code[-1])).query.sql_with_params()

    with pytest.raises(ValueError, match="parameter"):
        Prepared(build, code=str)(code="S001")


def test_an_argument_the_statement_does_not_take_as_a_parameter_is_refused():
    def build(*, code):
        return Store.objects.filter(code="S001").values_list("pk").query.sql_with_params()

    with pytest.raises(ValueError, match="did not become parameters"):
        Prepared(build, code=str)(code="S001")


def test_each_shape_is_compiled_on_its_own(s001):
    def build(*, code, with_name):
        stores = Store.objects.filter(code=code)
        return stores.values_list(*(["pk", "name"] if with_name else ["pk"])).query.sql_with_params()

    statement = Prepared(build, code=str)
    assert run(statement(shape={"with_name": True}, code="S001")) == [(s001.pk, s001.name)]
    assert run(statement(shape={"with_name": False}, code="S001")) == [(s001.pk,)]


def test_durations_are_arguments_too(s001, alice):
    queue = work_queue(s001, alice)
    add_tasks(queue, 3, due_in=10)

    def build(*, within):
        return (
            Task.objects.filter(due_at__lte=Value(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) + within)
            .values_list("pk")
            .query.sql_with_params()
        )

    statement = Prepared(build, within=dt.timedelta)
    assert run(statement(within=dt.timedelta(days=1))) == []
    assert len(run(statement(within=dt.timedelta(days=365 * 200)))) == 3


def test_a_row_becomes_the_instance_a_queryset_would_give(s001, alice):
    queue = work_queue(s001, alice)
    (task,) = add_tasks(queue, 1, payload={"snippet": None, "nested": {"a": [1, 2]}})
    columns = [field.attname for field in Task._meta.concrete_fields]
    (row,) = run(Task.objects.filter(pk=task.pk).values_list(*columns).query.sql_with_params())
    built = model_from_row(Task, row)
    fresh = Task.objects.get(pk=task.pk)
    assert [getattr(built, c) for c in columns] == [getattr(fresh, c) for c in columns]
    assert built.payload == {"snippet": None, "nested": {"a": [1, 2]}}
    assert built._state.adding is False


def test_a_product_row_keeps_its_types(s001):
    product = Product.objects.filter(store=s001).first() or Product.objects.create(
        store=s001, sku="P-1", name="Cola", price_minor=199, currency="EUR"
    )
    columns = [field.attname for field in Product._meta.concrete_fields]
    (row,) = run(Product.objects.filter(pk=product.pk).values_list(*columns).query.sql_with_params())
    built = model_from_row(Product, row)
    assert built == product
    assert (built.price_minor, built.sku) == (product.price_minor, product.sku)


def by_code_statement():
    return Prepared(lambda *, code: Store.objects.filter(code=code).values_list("pk").query.sql_with_params(), code=str)


def test_turning_server_side_preparation_off_gives_the_same_rows(settings, s001):
    statement = by_code_statement()
    settings.DATABASE_PREPARED_STATEMENTS = True
    prepared = statement.run(code="S001")
    settings.DATABASE_PREPARED_STATEMENTS = False
    assert statement.run(code="S001") == prepared == [(s001.pk,)]


@pytest.mark.postgres_only
def test_a_statement_prepared_in_a_rolled_back_transaction_still_runs_after_it(s001):
    """PostgreSQL keeps a PREPARE even when its transaction rolls back, and `run` counts on
    it: the next transaction EXECUTEs without preparing again."""
    statement = by_code_statement()
    with pytest.raises(RuntimeError), transaction.atomic():
        assert statement.run(code="S001") == [(s001.pk,)]
        raise RuntimeError
    assert statement.run(code="S001") == [(s001.pk,)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'loupe_%%'")
        assert cursor.fetchone()[0] >= 1


def test_an_argument_may_play_no_part_only_in_the_shape_that_says_so(s001, s002):
    def build(*, code, everyone):
        stores = Store.objects.all() if everyone else Store.objects.filter(code=code)
        return stores.order_by("pk").values_list("pk").query.sql_with_params()

    statement = Prepared(build, code=str, unused_in={"everyone": True})
    assert statement.run(shape={"everyone": True}, code="S001") == [(s001.pk,), (s002.pk,)]
    assert statement.run(shape={"everyone": False}, code="S002") == [(s002.pk,)]
    with pytest.raises(ValueError, match="did not become parameters"):
        Prepared(build, code=str).run(shape={"everyone": True}, code="S001")


# PreparedInsert ------------------------------------------------------------------------------


def label_like(label, **changes):
    """A new, unsaved copy of `label` (every column but its keys), with `changes`."""
    fields = {
        f.attname: getattr(label, f.attname) for f in Label._meta.concrete_fields if f.attname not in ("seq", "id")
    }
    return Label(**(fields | changes))


def stored(labels):
    columns = [f.attname for f in Label._meta.concrete_fields if f.attname not in ("seq", "id")]
    return [Label.objects.filter(pk=label.pk).values(*columns).get() for label in labels]


@pytest.fixture
def a_label(s001, alice):
    return record(store=s001, associate=alice, kind="snippet", verdict="annotated", human={"boxes": [{"x": 1}]})


@pytest.mark.parametrize("server_side", [True, False])
def test_an_insert_stores_what_bulk_create_stores_and_sets_the_returned_key(settings, a_label, server_side):
    settings.DATABASE_PREPARED_STATEMENTS = server_side
    changes = {
        "human": {"boxes": [], "note": "ünïcode ✓", "n": 1.5},
        "predicted": None,
        "event_id": uuid.uuid4(),
        "snippet_id": None,
        "provenance": {"a": [1, 2]},
    }
    ours = label_like(a_label, **changes)
    theirs = label_like(a_label, **changes)
    PreparedInsert(Label).run(ours)
    Label.objects.bulk_create([theirs])
    assert ours.seq is not None and ours.seq > a_label.seq and not ours._state.adding
    assert stored([ours]) == stored([theirs])
    assert Label.objects.get(pk=ours.pk).id == ours.id  # the default made in Python is the one stored


def test_values_are_written_by_the_database_and_read_back(a_label):
    label = label_like(a_label, verdict="kept")
    assert PreparedInsert(Label, values={"model_version": RawSQL("'from-sql'", [])}).run(label)
    assert label.model_version == "from-sql" == Label.objects.get(pk=label.pk).model_version


def test_an_insert_whose_condition_fails_inserts_nothing(a_label):
    before = Label.objects.count()
    label = label_like(a_label)
    assert PreparedInsert(Label, when=RawSQL("1 = 0", [])).run(label) is False
    assert label.seq is None and label._state.adding
    assert Label.objects.count() == before
    assert PreparedInsert(Label, when=RawSQL("1 = 1", [])).run(label) is True
    assert Label.objects.count() == before + 1


def test_values_and_conditions_must_be_sql_without_parameters(a_label):
    with pytest.raises(ValueError, match="placeholder"):
        PreparedInsert(Label, values={"model_version": Value("x")}).run(label_like(a_label))
    with pytest.raises(ValueError, match="cannot guard"):
        PreparedInsert(Label, when=RawSQL("%s = 1", [1])).run(label_like(a_label))


def test_field_defaults_are_filled_in_as_on_save(a_label):
    fields = {f.attname: getattr(a_label, f.attname) for f in Label._meta.concrete_fields}
    fields = {k: v for k, v in fields.items() if k not in ("seq", "id", "txid", "provenance", "model_version")}
    label = Label(**fields)
    PreparedInsert(Label).run(label)
    row = Label.objects.get(pk=label.pk)
    assert (row.txid, row.provenance, row.model_version) == (0, {}, "")
    assert isinstance(row.id, uuid.UUID)


def test_a_row_the_database_refuses_stores_nothing(a_label):
    good = label_like(a_label)
    bad = label_like(a_label, id=a_label.id)  # the unique id again
    before = Label.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        PreparedInsert(Label).run(good)
        PreparedInsert(Label).run(bad)
    assert Label.objects.count() == before
