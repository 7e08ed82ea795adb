import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIRequestFactory

from catalog import roles
from catalog.models import Product, StoreAccess
from tests.factories import UserFactory
from tests.images import image_bytes


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def authenticate(key: str) -> User:
    request = APIRequestFactory().get("/api/v1/", HTTP_AUTHORIZATION=f"Token {key}")
    user, _ = TokenAuthentication().authenticate(request)
    return user


# --- import_catalog -------------------------------------------------------------------------


@pytest.fixture
def catalog_csv(tmp_path):
    (tmp_path / "water.png").write_bytes(image_bytes())
    path = tmp_path / "catalog.csv"
    path.write_text(
        "sku,name,price_minor,currency,image\nSKU-0001,Renamed,250,EUR,\nSKU-0100,Water,129,EUR,water.png\n"
    )
    return path


def test_import_catalog_prints_the_counts(s001, catalog_csv, media):
    out, _ = run("import_catalog", "S001", str(catalog_csv))

    assert "created 1, updated 1 products in S001" in out
    assert Product.objects.get(store=s001, sku="SKU-0100").thumbnail


def test_import_catalog_dry_run_writes_nothing(s001, catalog_csv, media):
    out, _ = run("import_catalog", "S001", str(catalog_csv), "--dry-run")

    assert "Dry run" in out
    assert "would have created 1, updated 1" in out
    assert not Product.objects.filter(sku="SKU-0100").exists()


def test_import_catalog_takes_images_from_another_folder(s001, tmp_path, media):
    images = tmp_path / "pictures"
    images.mkdir()
    (images / "tea.png").write_bytes(image_bytes())
    path = tmp_path / "catalog.csv"
    path.write_text("sku,name,price_minor,currency,image\nSKU-0500,Tea,300,EUR,tea.png\n")

    run("import_catalog", "S001", str(path), "--images", str(images))

    assert Product.objects.get(store=s001, sku="SKU-0500").image


def test_import_catalog_prints_every_bad_row_and_fails(s001, tmp_path, media):
    path = tmp_path / "catalog.csv"
    path.write_text("sku,name,price_minor,currency\nSKU-0100,Water,1.29,EUR\nSKU-0101,Tea,300,GBP\n")
    err = io.StringIO()

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_catalog", "S001", str(path), stdout=io.StringIO(), stderr=err)

    assert "catalog.csv: row 2, column price_minor: '1.29' is not a whole number" in err.getvalue()
    assert "catalog.csv: row 3, column currency: GBP is not the store's currency (EUR)" in err.getvalue()
    assert not Product.objects.filter(sku__in=["SKU-0100", "SKU-0101"]).exists()


def test_import_catalog_refuses_an_unknown_store(s001, catalog_csv, media):
    with pytest.raises(CommandError, match="Unknown store code: S999"):
        run("import_catalog", "S999", str(catalog_csv))


def test_import_catalog_refuses_a_missing_file(s001, tmp_path, media):
    with pytest.raises(CommandError, match="nothing was imported"):
        run("import_catalog", "S001", str(tmp_path / "nope.csv"))


# --- create_integration ---------------------------------------------------------------------


def test_create_integration_prints_a_token_that_authenticates(s001, s002):
    out, err = run("create_integration", "cv-pipeline", "--stores", "S001,S002")

    key = out.strip()
    user = authenticate(key)
    assert user.username == "cv-pipeline"
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == [roles.INTEGRATION]
    assert sorted(user.stores.values_list("code", flat=True)) == ["S001", "S002"]
    assert "shown only once" in err
    assert key not in err


def test_create_integration_refuses_unknown_stores_and_creates_nothing(s001):
    with pytest.raises(CommandError, match=r"Unknown store code.*S404"):
        run("create_integration", "cv-pipeline", "--stores", "S001,S404")

    assert not User.objects.filter(username="cv-pipeline").exists()
    assert not Token.objects.exists()
    assert not StoreAccess.objects.exists()


def test_create_integration_needs_stores(s001):
    with pytest.raises(CommandError, match="Name the stores"):
        run("create_integration", "cv-pipeline")


def test_create_integration_refuses_an_existing_name_without_rotate(s001):
    out, _ = run("create_integration", "cv-pipeline", "--stores", "S001")

    with pytest.raises(CommandError, match=r"already exists.*--rotate"):
        run("create_integration", "cv-pipeline", "--stores", "S001")

    assert authenticate(out.strip()).username == "cv-pipeline"


def test_rotate_prints_a_new_token_and_the_old_one_stops_working(s001, s002):
    old, _ = run("create_integration", "cv-pipeline", "--stores", "S001")

    new, err = run("create_integration", "cv-pipeline", "--rotate")

    assert new.strip() != old.strip()
    assert authenticate(new.strip()).username == "cv-pipeline"
    with pytest.raises(AuthenticationFailed):
        authenticate(old.strip())
    assert "Rotated" in err
    assert list(User.objects.get(username="cv-pipeline").stores.values_list("code", flat=True)) == ["S001"]


def test_rotate_with_stores_restates_the_grants(s001, s002):
    run("create_integration", "cv-pipeline", "--stores", "S001")

    run("create_integration", "cv-pipeline", "--rotate", "--stores", "S002")

    assert list(User.objects.get(username="cv-pipeline").stores.values_list("code", flat=True)) == ["S002"]


def test_rotate_refuses_a_persons_account(s001):
    alice = UserFactory(username="alice", role=roles.ASSOCIATE, stores=[s001])

    with pytest.raises(CommandError, match="not an integration"):
        run("create_integration", "alice", "--rotate")

    assert not Token.objects.filter(user=alice).exists()
    assert alice.groups.filter(name=roles.INTEGRATION).count() == 0


def test_create_integration_refuses_an_invalid_name(s001):
    with pytest.raises(CommandError, match="letters, numbers"):
        run("create_integration", "cv pipeline!", "--stores", "S001")
