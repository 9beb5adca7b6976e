"""Integrity: one variant per (slot, recipe), named catalog locks, and failed logins for throttling.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

- ``variants.recipe_key`` (the hash of the recipe a variant was made from) with a unique key on
  ``(slot_key, recipe_key)``: two runs of the same recipe at once make one row, decided by the
  database, not by a read-then-write check. Existing rows get their key from the recipe JSON;
  a duplicate made before this revision (the bug it fixes) keeps a NULL key, so the unique index
  can be built, and stays readable.
- ``catalog_locks``: one row per named lock. A transaction that must see a stable set of rows
  (the last-admin rule) first updates its lock's row, which serialises it against every other
  holder on SQLite and PostgreSQL alike.
- ``login_failures``: failed logins per account and per client, for the login backoff.
- ``workers``: each running worker's queues and last sign of life, so a submitter can tell that
  no worker serves a queue instead of waiting forever.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCKS = ("users",)


def upgrade() -> None:
    with op.batch_alter_table("variants") as batch:
        batch.add_column(sa.Column("recipe_key", sa.String(length=64), nullable=True))
    _backfill_recipe_keys()
    with op.batch_alter_table("variants") as batch:
        batch.create_unique_constraint(op.f("uq_variants_slot_key_recipe_key"), ["slot_key", "recipe_key"])

    locks = op.create_table(
        "catalog_locks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("taken", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_catalog_locks")),
    )
    op.bulk_insert(locks, [{"name": name, "taken": 0} for name in LOCKS])

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_name"), "login_failures", ["name", "at"], unique=False)
    op.create_index(op.f("ix_login_failures_client"), "login_failures", ["client", "at"], unique=False)

    op.create_table(
        "workers",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("queues", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_workers")),
    )


def _backfill_recipe_keys() -> None:
    if op.get_context().as_sql:  # offline (SQL script) mode: there are no rows to read
        return
    connection = op.get_bind()
    variants = sa.table("variants", sa.column("id", sa.Integer), sa.column("slot_key", sa.String),
                        sa.column("recipe", sa.JSON), sa.column("recipe_key", sa.String))
    seen: set[tuple[str, str]] = set()
    rows = connection.execute(sa.select(variants.c.id, variants.c.slot_key, variants.c.recipe).order_by(variants.c.id))
    updates = []
    for vid, slot, recipe in rows:
        key = (recipe or {}).get("recipe_key") if isinstance(recipe, dict) else None
        if not isinstance(key, str) or (slot, key) in seen:
            continue
        seen.add((slot, key))
        updates.append({"vid": vid, "key": key})
    if updates:
        connection.execute(
            variants.update().where(variants.c.id == sa.bindparam("vid")).values(recipe_key=sa.bindparam("key")), updates
        )


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_index(op.f("ix_login_failures_client"), table_name="login_failures")
    op.drop_index(op.f("ix_login_failures_name"), table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_table("catalog_locks")
    with op.batch_alter_table("variants") as batch:
        batch.drop_constraint(op.f("uq_variants_slot_key_recipe_key"), type_="unique")
        batch.drop_column("recipe_key")
