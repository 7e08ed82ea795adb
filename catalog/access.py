"""Who may see which store. Views and APIs never filter by store by hand: they go through
these functions, which answer 404 (never 403) for a store the caller is not granted, so a
caller cannot even learn that another store's object exists."""

from django.db.models import QuerySet
from django.http import Http404

from catalog.models import Store
from infra.text import unstorable


def stores_for_user(user) -> QuerySet[Store]:
    if not user.is_authenticated:
        return Store.objects.none()
    if user.is_superuser:
        return Store.objects.all()
    return Store.objects.filter(storeaccess__user=user)


def store_for_user(user, code: str) -> Store:
    """The store of that code among the user's; 404 otherwise, also for a code no store can
    have and no query can carry (a NUL from `%00` in a URL, a lone surrogate)."""
    if unstorable(code):
        raise Http404("No such store.")
    try:
        return stores_for_user(user).get(code=code)
    except Store.DoesNotExist:
        raise Http404("No such store.") from None


def user_has_store(user, store: Store) -> bool:
    return stores_for_user(user).filter(pk=store.pk).exists()


def store_ids(stores) -> list[int]:
    """The ids of `stores` (a queryset or an iterable of stores), in one query at most."""
    if isinstance(stores, QuerySet):
        return list(stores.order_by().values_list("pk", flat=True))
    return [store.pk for store in stores]
