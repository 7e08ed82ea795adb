"""The typed environment readers of config/env.py refuse what they cannot use."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_int


def test_env_int_reads_an_integer_and_falls_back_on_unset_or_empty(monkeypatch):
    monkeypatch.setenv("LOUPE_TEST_INT", "7")
    assert env_int("LOUPE_TEST_INT", 3, minimum=1) == 7
    monkeypatch.setenv("LOUPE_TEST_INT", "")
    assert env_int("LOUPE_TEST_INT", 3) == 3
    monkeypatch.delenv("LOUPE_TEST_INT")
    assert env_int("LOUPE_TEST_INT", 3) == 3


@pytest.mark.parametrize("raw", ["0", "-5", "ten", "1.5"])
def test_env_int_refuses_a_value_that_is_not_an_integer_or_below_its_minimum(monkeypatch, raw):
    """WORK_REFRESH_S=0 would make the work home poll without a pause: refused at boot."""
    monkeypatch.setenv("LOUPE_TEST_INT", raw)
    with pytest.raises(ImproperlyConfigured, match="LOUPE_TEST_INT"):
        env_int("LOUPE_TEST_INT", 3, minimum=1)
