"""Creative Workbench: analyse a title, generate creative variants, sign them with C2PA."""

__version__ = "0.1.0"
