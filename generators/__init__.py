"""Generators turn an Analysis into creative variants. Each one is registered by name here."""

from generators.base import GeneratedFile, Generator, Recipe, EditAction, registry, get_generator

__all__ = ["GeneratedFile", "Generator", "Recipe", "EditAction", "registry", "get_generator"]

# Registration: importing a generator module registers its kind.
import generators.thumbnails  # noqa: E402,F401
