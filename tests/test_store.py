"""The SQL store keeps canonical objects unchanged, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hub.errors import Conflict, NotFound
from hub.store.cases import add_case, get_case
from hub.store.database import Database
from hub.store.judgments import add_judgment, get_judgment
from hub.store.migrate import current_revision, head_revision
from hub.store.tables import metadata
from tests import factories


def test_migrations_create_exactly_the_declared_tables(database: Database) -> None:
    assert current_revision(database) == head_revision()
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_judgment_with_parties_and_obligations_round_trips(database: Database) -> None:
    j = factories.judgment()
    with database.begin() as conn:
        add_judgment(conn, j)
    with database.begin() as conn:
        back = get_judgment(conn, j.id)
    assert back == j
    assert back.model_dump_json() == j.model_dump_json()
    assert [o.amount_vnd for o in back.obligations] == [350_000_000, 17_500_000, None]
    assert back.parties[0].party.addresses[0].original_text.startswith("Số 12 ấp Hòa Bình")


def test_enforcement_case_round_trips(database: Database) -> None:
    j = factories.judgment()
    case = factories.enforcement_case(j)
    case.receipts.append(factories.receipt_for(case))
    with database.begin() as conn:
        add_judgment(conn, j)
        add_case(conn, case)
    with database.begin() as conn:
        back = get_case(conn, case.id)
    assert back == case
    assert back.model_dump_json() == case.model_dump_json()


def test_same_court_number_twice_is_refused_and_nothing_half_stored(database: Database) -> None:
    first = factories.judgment()
    with database.begin() as conn:
        add_judgment(conn, first)
    again = factories.judgment()  # same court and number, new ids
    with pytest.raises(Conflict) as caught, database.begin() as conn:
        add_judgment(conn, again)
    assert caught.value.rule == "judgment_unique"
    with database.begin() as conn, pytest.raises(NotFound):
        get_judgment(conn, again.id)


def test_a_failed_transaction_leaves_no_rows(database: Database) -> None:
    j = factories.judgment()
    with pytest.raises(RuntimeError), database.begin() as conn:
        add_judgment(conn, j)
        raise RuntimeError("crash after the insert, before the commit")
    with database.begin() as conn, pytest.raises(NotFound):
        get_judgment(conn, j.id)
