"""Variants of every kind: sidecar files (a trailer's cut lists, an ad's VAST document) and QA flags.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

- ``variant_files``: the files of a variant besides its primary asset, each a stored asset with
  the role the kind gave it (``cutlist.otio``, ``rendition.720p``, ``vast``...).
- asset kinds ``audio`` (music beds) and ``document`` (cut lists, VAST, hotspot JSON) beside
  ``video`` and ``image``.
- ``variants.qa_flags``: the kind's QA flags of an output (``overflow``, ``missing_glyphs``...):
  shown in review, and batch approval skips flagged variants unless a reviewer overrides.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "variant_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["variant_id"], ["variants.id"], name=op.f("fk_variant_files_variant_id_variants")),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name=op.f("fk_variant_files_asset_id_assets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_variant_files")),
        sa.UniqueConstraint("variant_id", "role", name=op.f("uq_variant_files_variant_id_role")),
    )
    op.create_index(op.f("ix_variant_files_variant_id"), "variant_files", ["variant_id"], unique=False)
    with op.batch_alter_table("variants") as batch:
        batch.add_column(sa.Column("qa_flags", sa.JSON(), nullable=True))
    with op.batch_alter_table("assets") as batch:
        batch.alter_column("kind", existing_type=_kinds(OLD_KINDS), type_=_kinds(NEW_KINDS), existing_nullable=False)


OLD_KINDS = ("video", "image")
NEW_KINDS = ("video", "image", "audio", "document")


def _kinds(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="asset_kind", native_enum=False, create_constraint=True, length=32)


def downgrade() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.alter_column("kind", existing_type=_kinds(NEW_KINDS), type_=_kinds(OLD_KINDS), existing_nullable=False)
    with op.batch_alter_table("variants") as batch:
        batch.drop_column("qa_flags")
    op.drop_index(op.f("ix_variant_files_variant_id"), table_name="variant_files")
    op.drop_table("variant_files")
