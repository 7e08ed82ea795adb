"""Periodic commands (`--every`) outlive a lost database: the round is logged and the next one
runs; run once, the error still ends the command (cron sees it)."""

import pytest
from django.db import OperationalError

from infra import periodic


class Rounds(periodic.PeriodicCommand):
    def __init__(self, outcomes):
        super().__init__()
        self.outcomes = list(outcomes)
        self.rounds = 0

    def run_once(self, **options) -> None:
        self.rounds += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome


class Stop(BaseException):
    pass


def test_with_every_a_round_cut_short_by_the_database_is_followed_by_the_next(monkeypatch, caplog):
    monkeypatch.setattr(periodic.time, "sleep", lambda s: None)
    command = Rounds([OperationalError("server closed the connection"), None, Stop()])

    with pytest.raises(Stop):
        command.handle(every=60)

    assert command.rounds == 3
    assert "database error (server closed the connection); trying again in 60 s" in caplog.text


def test_run_once_a_database_error_still_ends_the_command():
    with pytest.raises(OperationalError):
        Rounds([OperationalError("down")]).handle(every=0)
