"""Review conversations: comments (threads, pins, timecodes), share links, notifications.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

- ``comments``: per variant; ``parent_id`` for replies; a pin (``pin_x``, ``pin_y``, and
  ``pin_w``/``pin_h`` for a box, 0..1 of the picture) or a time (``time_start``, ``time_end``
  for a range, seconds); ``resolved`` with who and when. Creation and resolution are audit
  events too (``comment.add``, ``comment.resolve``, ``comment.unresolve``).
- ``share_links``: the SHA-256 of the token, the variant ids it names, comment or view access,
  expiry and revocation.
- ``notifications``: per recipient, unique on (recipient, key) so a repeat is one row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("variant_ids", sa.JSON(), nullable=False),
        sa.Column("access", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_links_token_hash")),
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("share_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=True),
        sa.Column("pin_x", sa.Double(), nullable=True),
        sa.Column("pin_y", sa.Double(), nullable=True),
        sa.Column("pin_w", sa.Double(), nullable=True),
        sa.Column("pin_h", sa.Double(), nullable=True),
        sa.Column("time_start", sa.Double(), nullable=True),
        sa.Column("time_end", sa.Double(), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("resolved_by", sa.String(length=255), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["variant_id"], ["variants.id"], name=op.f("fk_comments_variant_id_variants")),
        sa.ForeignKeyConstraint(["parent_id"], ["comments.id"], name=op.f("fk_comments_parent_id_comments")),
        sa.ForeignKeyConstraint(["share_id"], ["share_links.id"], name=op.f("fk_comments_share_id_share_links")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    op.create_index(op.f("ix_comments_variant_id"), "comments", ["variant_id"], unique=False)
    op.create_index(op.f("ix_comments_parent_id"), "comments", ["parent_id"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["variant_id"], ["variants.id"], name=op.f("fk_notifications_variant_id_variants")),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], name=op.f("fk_notifications_comment_id_comments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("recipient", "key", name=op.f("uq_notifications_recipient_key")),
    )
    op.create_index(op.f("ix_notifications_recipient"), "notifications", ["recipient"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_recipient"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_index(op.f("ix_comments_parent_id"), table_name="comments")
    op.drop_index(op.f("ix_comments_variant_id"), table_name="comments")
    op.drop_table("comments")
    op.drop_table("share_links")
