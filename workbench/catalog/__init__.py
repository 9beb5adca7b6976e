"""The catalog: what the workbench knows about titles, assets, analyses, jobs, variants and
reviews, in one SQL database (SQLite by default, PostgreSQL in production).

- :mod:`.models`: the tables (SQLAlchemy 2 typed models).
- :mod:`.db`: :func:`open_catalog` gives a migrated :class:`Catalog` with ``session()``.
- :mod:`.repo`: the small queries the CLI, workers and UI share.
- ``migrations/``: Alembic revisions, applied by :func:`open_catalog`.
"""

from workbench.catalog.db import Catalog, alembic_config, close_all_catalogs, open_catalog, upgrade
from workbench.catalog.models import (
    ASSET_KINDS,
    JOB_STATES,
    REVIEW_STATUSES,
    Analysis,
    AppendOnlyError,
    Asset,
    AssetKind,
    AuditEvent,
    Base,
    Brief,
    Job,
    JobState,
    Keyframe,
    ReviewEvent,
    ReviewStatus,
    Shot,
    Title,
    Transition,
    Variant,
)
from workbench.catalog.repo import (
    add_asset_if_absent,
    add_variant,
    create_title,
    get_asset_by_sha256,
    get_title,
    list_titles,
    list_variants,
    load_analysis,
    next_variant_version,
    params_hash,
    record_audit,
    save_analysis,
    slot_key,
    stable_hash,
)

__all__ = [
    "ASSET_KINDS",
    "JOB_STATES",
    "REVIEW_STATUSES",
    "Analysis",
    "AppendOnlyError",
    "Asset",
    "AssetKind",
    "AuditEvent",
    "Base",
    "Brief",
    "Catalog",
    "Job",
    "JobState",
    "Keyframe",
    "ReviewEvent",
    "ReviewStatus",
    "Shot",
    "Title",
    "Transition",
    "Variant",
    "add_asset_if_absent",
    "add_variant",
    "alembic_config",
    "close_all_catalogs",
    "create_title",
    "get_asset_by_sha256",
    "get_title",
    "list_titles",
    "list_variants",
    "load_analysis",
    "next_variant_version",
    "open_catalog",
    "params_hash",
    "record_audit",
    "save_analysis",
    "slot_key",
    "stable_hash",
    "upgrade",
]
