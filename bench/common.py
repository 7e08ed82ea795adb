"""Plumbing the benchmarks share: a free loopback port and throwaway PostgreSQL databases.

Each bench creates its own database next to the server named by BENCH_DATABASE_URL (or the
default local one) and drops it at the end, so benches never touch real data.
"""

import socket
from urllib.parse import urlsplit, urlunsplit

import psycopg2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(base: str, name: str) -> str:
    """The URL of database `name` on the server of `base`."""
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def admin(base: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
    conn = psycopg2.connect(base)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()
