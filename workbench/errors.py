"""The project's exception hierarchy. Messages are one line a user can act on."""


class WorkbenchError(Exception):
    """Base of every error the workbench raises on purpose."""


class InvalidInput(WorkbenchError):
    """A file, name or argument the workbench refuses, with the reason."""


class NotFound(WorkbenchError):
    """A title, asset or variant id that the catalog does not hold."""


class AnalysisError(WorkbenchError):
    """Analysis could not run on an otherwise valid input."""


class GenerationError(WorkbenchError):
    """A generator could not produce its output."""


class ProvenanceError(WorkbenchError):
    """Signing or reading a C2PA manifest failed."""
