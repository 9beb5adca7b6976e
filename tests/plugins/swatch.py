"""Registers the test suite's second kind (``tests/test_kinds.py``) in a worker process:
``WORKBENCH_PLUGINS=tests.plugins.swatch``."""

from generators import register_kind
from tests.test_kinds import SwatchKind

register_kind(SwatchKind())
