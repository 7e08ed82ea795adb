"""Factories for volume. Named personas for access tests live in conftest.py."""

import datetime as dt

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from annotator.models import Queue, Task
from catalog.models import Camera, Product, Store, StoreAccess


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Store {o.code}")
    currency = "EUR"


class CameraFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Camera
        django_get_or_create = ("store", "code")

    store = factory.SubFactory(StoreFactory)
    code = factory.Sequence(lambda n: f"C{n:02d}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("store", "sku")

    store = factory.SubFactory(StoreFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    price_minor = 199
    currency = "EUR"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-loupe-test")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])

    @factory.post_generation
    def stores(self, create, extracted, **kwargs):
        if create and extracted:
            for store in extracted:
                StoreAccess.objects.get_or_create(store=store, user=self)


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        django_get_or_create = ("store", "kind", "name")

    store = factory.SubFactory(StoreFactory)
    kind = "snippet_annotation"
    name = factory.LazyAttribute(lambda o: o.kind.replace("_", " ").capitalize())


def due_in(minutes: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


class TaskFactory(factory.django.DjangoModelFactory):
    """Builds a bare task row. Use annotator.services.task_enqueue when slots are needed."""

    class Meta:
        model = Task

    queue = factory.SubFactory(QueueFactory)
    store = factory.SelfAttribute("queue.store")
    kind = factory.SelfAttribute("queue.kind")
    subject_id = factory.Faker("uuid4", cast_to=None)
    due_at = factory.LazyFunction(lambda: due_in(15))
