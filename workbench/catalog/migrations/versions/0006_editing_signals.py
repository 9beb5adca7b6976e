"""Editing signals: fades, speech per shot, and the analysis' audio signals and face tracks.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Analyzer 1.2 times everything from presentation timestamps and finds what trailer editing needs:

- ``transitions.start_time`` / ``end_time`` (seconds on the analysis clock, end exclusive) and
  ``colour`` (``black`` / ``white`` for the new kinds ``fade_out`` and ``fade_in``). NULL on
  rows made before 1.2 (readers fall back to frame / fps).
- ``shots.speech_share``: the share of the shot's time with speech in it (0 on old rows).
- ``analyses.signals``: JSON with ``video_start`` (the first video frame's time on the
  container clock), ``audio`` (speech spans, onsets, beats, tempo, energy curve) and
  ``face_tracks``; NULL on old rows. Kept as one document: it is read whole, with the analysis.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transitions") as batch:
        batch.add_column(sa.Column("start_time", sa.Double(), nullable=True))
        batch.add_column(sa.Column("end_time", sa.Double(), nullable=True))
        batch.add_column(sa.Column("colour", sa.String(length=16), nullable=True))
    with op.batch_alter_table("shots") as batch:
        batch.add_column(sa.Column("speech_share", sa.Double(), nullable=False, server_default="0"))
    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("signals", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.drop_column("signals")
    with op.batch_alter_table("shots") as batch:
        batch.drop_column("speech_share")
    with op.batch_alter_table("transitions") as batch:
        batch.drop_column("colour")
        batch.drop_column("end_time")
        batch.drop_column("start_time")
