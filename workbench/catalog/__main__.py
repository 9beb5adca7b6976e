"""``python -m workbench.catalog <alembic command> [args]``: Alembic against the configured
database (``WORKBENCH_DATABASE_URL`` / ``WORKBENCH_HOME``), with the package's migrations.

Adding a migration after changing the models::

    WORKBENCH_HOME=$(mktemp -d) python -m workbench.catalog upgrade head
    WORKBENCH_HOME=<same dir> python -m workbench.catalog revision --autogenerate --rev-id 0002 -m "what changed"

then read the new file in ``migrations/versions/`` and tidy it (autogenerate is a draft), and
run ``pytest tests/test_catalog.py`` (it fails when models and migrations disagree).
"""

from __future__ import annotations

import sys

from alembic.config import CommandLine
from sqlalchemy.engine import make_url

from workbench.catalog.db import alembic_config, create_catalog_engine
from workbench.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    cli = CommandLine(prog="python -m workbench.catalog")
    options = cli.parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not hasattr(options, "cmd"):
        cli.parser.print_help()
        return 2
    url = make_url(get_settings().resolved_database_url)
    create_catalog_engine(url).dispose()  # creates a SQLite file's folder
    cli.run_cmd(alembic_config(url), options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
