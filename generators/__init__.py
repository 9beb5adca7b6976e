"""Generators turn an Analysis into creative variants. Each one is registered by name here."""

from generators.base import GeneratedFile, Generator, Recipe, EditAction, registry, get_generator

__all__ = ["GeneratedFile", "Generator", "Recipe", "EditAction", "registry", "get_generator"]
