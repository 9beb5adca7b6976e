"""Initial schema: titles, assets, analyses (shots, transitions, keyframes), briefs, jobs,
variants, review and audit events.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Migrations stand alone: use plain ``sa`` types here, never import workbench.catalog.models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.Enum("video", "image", name="asset_kind", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("mime", sa.String(length=127), nullable=False),
        sa.Column("ext", sa.String(length=16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Double(), nullable=True),
        sa.Column("fps", sa.Double(), nullable=True),
        sa.Column("frame_count", sa.Integer(), nullable=True),
        sa.Column("video_codec", sa.String(length=32), nullable=True),
        sa.Column("audio_codec", sa.String(length=32), nullable=True),
        sa.Column("has_audio", sa.Boolean(), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=True),
        sa.Column("c2pa_state", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sa.UniqueConstraint("sha256", name=op.f("uq_assets_sha256")),
    )
    op.create_table(
        "titles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("source_asset_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rights", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["source_asset_id"], ["assets.id"], name=op.f("fk_titles_source_asset_id_assets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_titles")),
        sa.UniqueConstraint("name", name=op.f("uq_titles_name")),
    )
    op.create_index(op.f("ix_titles_source_asset_id"), "titles", ["source_asset_id"], unique=False)
    op.create_table(
        "analyses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title_id", sa.Integer(), nullable=True),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("analyzer_version", sa.String(length=32), nullable=False),
        sa.Column("params_hash", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("fps", sa.Double(), nullable=False),
        sa.Column("frame_count", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Double(), nullable=False),
        sa.Column("has_audio", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["title_id"], ["titles.id"], name=op.f("fk_analyses_title_id_titles"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analyses")),
        sa.UniqueConstraint("source_sha256", "analyzer_version", "params_hash", name=op.f("uq_analyses_source_sha256_analyzer_version_params_hash")),
    )
    op.create_index(op.f("ix_analyses_title_id"), "analyses", ["title_id"], unique=False)
    op.create_table(
        "briefs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["title_id"], ["titles.id"], name=op.f("fk_briefs_title_id_titles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefs")),
    )
    op.create_index(op.f("ix_briefs_title_id"), "briefs", ["title_id"], unique=False)
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("title_id", sa.Integer(), nullable=False),
        sa.Column("brief_id", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.Enum("queued", "running", "succeeded", "failed", "cancelled", name="job_state", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("celery_task_id", sa.String(length=255), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["brief_id"], ["briefs.id"], name=op.f("fk_jobs_brief_id_briefs"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["title_id"], ["titles.id"], name=op.f("fk_jobs_title_id_titles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("key", name=op.f("uq_jobs_key")),
    )
    op.create_index(op.f("ix_jobs_brief_id"), "jobs", ["brief_id"], unique=False)
    op.create_index(op.f("ix_jobs_state"), "jobs", ["state"], unique=False)
    op.create_index(op.f("ix_jobs_title_id"), "jobs", ["title_id"], unique=False)
    op.create_table(
        "keyframes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("shot_index", sa.Integer(), nullable=False),
        sa.Column("frame", sa.Integer(), nullable=False),
        sa.Column("time", sa.Double(), nullable=False),
        sa.Column("pts", sa.BigInteger(), nullable=True),
        sa.Column("motion", sa.Double(), nullable=False),
        sa.Column("face_count", sa.Integer(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("faces", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["analysis_id"], ["analyses.id"], name=op.f("fk_keyframes_analysis_id_analyses"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyframes")),
    )
    op.create_index(op.f("ix_keyframes_analysis_id"), "keyframes", ["analysis_id"], unique=False)
    op.create_table(
        "shots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("start_frame", sa.Integer(), nullable=False),
        sa.Column("end_frame", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Double(), nullable=False),
        sa.Column("end_time", sa.Double(), nullable=False),
        sa.Column("motion", sa.Double(), nullable=False),
        sa.Column("loudness_lufs", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["analysis_id"], ["analyses.id"], name=op.f("fk_shots_analysis_id_analyses"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shots")),
        sa.UniqueConstraint("analysis_id", "index", name=op.f("uq_shots_analysis_id_index")),
    )
    op.create_table(
        "transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("start_frame", sa.Integer(), nullable=False),
        sa.Column("end_frame", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["analysis_id"], ["analyses.id"], name=op.f("fk_transitions_analysis_id_analyses"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transitions")),
    )
    op.create_index(op.f("ix_transitions_analysis_id"), "transitions", ["analysis_id"], unique=False)
    op.create_table(
        "variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=True),
        sa.Column("locale", sa.String(length=35), nullable=True),
        sa.Column("format", sa.String(length=64), nullable=True),
        sa.Column("slot_key", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recipe", sa.JSON(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("review_status", sa.Enum("pending", "approved", "rejected", "changes_requested", name="review_status", native_enum=False, create_constraint=True, length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name=op.f("fk_variants_asset_id_assets")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_variants_job_id_jobs"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["title_id"], ["titles.id"], name=op.f("fk_variants_title_id_titles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_variants")),
        sa.UniqueConstraint("slot_key", "version", name=op.f("uq_variants_slot_key_version")),
    )
    op.create_index(op.f("ix_variants_asset_id"), "variants", ["asset_id"], unique=False)
    op.create_index(op.f("ix_variants_job_id"), "variants", ["job_id"], unique=False)
    op.create_index(op.f("ix_variants_review_status"), "variants", ["review_status"], unique=False)
    op.create_index(op.f("ix_variants_title_id"), "variants", ["title_id"], unique=False)
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("title_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["title_id"], ["titles.id"], name=op.f("fk_audit_events_title_id_titles")),
        sa.ForeignKeyConstraint(["variant_id"], ["variants.id"], name=op.f("fk_audit_events_variant_id_variants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"], unique=False)
    op.create_index(op.f("ix_audit_events_title_id"), "audit_events", ["title_id"], unique=False)
    op.create_index(op.f("ix_audit_events_variant_id"), "audit_events", ["variant_id"], unique=False)
    op.create_table(
        "review_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("title_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["title_id"], ["titles.id"], name=op.f("fk_review_events_title_id_titles")),
        sa.ForeignKeyConstraint(["variant_id"], ["variants.id"], name=op.f("fk_review_events_variant_id_variants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_events")),
    )
    op.create_index(op.f("ix_review_events_at"), "review_events", ["at"], unique=False)
    op.create_index(op.f("ix_review_events_title_id"), "review_events", ["title_id"], unique=False)
    op.create_index(op.f("ix_review_events_variant_id"), "review_events", ["variant_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_review_events_variant_id"), table_name="review_events")
    op.drop_index(op.f("ix_review_events_title_id"), table_name="review_events")
    op.drop_index(op.f("ix_review_events_at"), table_name="review_events")
    op.drop_table("review_events")
    op.drop_index(op.f("ix_audit_events_variant_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_title_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_at"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index(op.f("ix_variants_title_id"), table_name="variants")
    op.drop_index(op.f("ix_variants_review_status"), table_name="variants")
    op.drop_index(op.f("ix_variants_job_id"), table_name="variants")
    op.drop_index(op.f("ix_variants_asset_id"), table_name="variants")
    op.drop_table("variants")
    op.drop_index(op.f("ix_transitions_analysis_id"), table_name="transitions")
    op.drop_table("transitions")
    op.drop_table("shots")
    op.drop_index(op.f("ix_keyframes_analysis_id"), table_name="keyframes")
    op.drop_table("keyframes")
    op.drop_index(op.f("ix_jobs_title_id"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_state"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_brief_id"), table_name="jobs")
    op.drop_table("jobs")
    op.drop_index(op.f("ix_briefs_title_id"), table_name="briefs")
    op.drop_table("briefs")
    op.drop_index(op.f("ix_analyses_title_id"), table_name="analyses")
    op.drop_table("analyses")
    op.drop_index(op.f("ix_titles_source_asset_id"), table_name="titles")
    op.drop_table("titles")
    op.drop_table("assets")
