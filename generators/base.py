"""The one interface every creative kind implements: :class:`CreativeKind`.

A kind is one folder under ``generators/`` (``kind.py`` and its own modules) and one line in the
registry (``generators/__init__.py``). Everything specific to the kind lives behind this
interface; the core (briefs, jobs, workflow, review, regenerate, export, CLI, UI) only asks the
registry. What a kind owns, in the order the core asks:

1. **parameters**: a typed ``Params`` dataclass (``generators.params``) from which the brief
   schema, the checks and the job JSON all come; :meth:`fan_out` of a brief item into jobs;
   :meth:`needs_model` for queue routing and rights;
2. **generation**: :meth:`check_inputs` once the title is analysed, then :meth:`generate` with a
   :class:`GenerationContext`, returning :class:`workbench.creative.Output` objects: the primary
   file and sidecars, the slot, the recipe, the C2PA actions, any number of ingredients, a score
   and QA flags. A kind never talks to Celery, the catalog or C2PA: the workflow does;
3. **review**: :meth:`explain` ("why this frame / these shots / this placement") and the
   regenerate :attr:`tweaks` with :meth:`apply_tweak`;
4. **export**: :meth:`deliveries` of an approved variant (``workbench.deliveries``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from workbench.creative import Output
from workbench.errors import InvalidInput

if TYPE_CHECKING:
    from generators.params import KindParams
    from workbench.analysis.types import Analysis
    from workbench.media.probe import MediaInfo
    from workbench.settings import Settings

StepCallback = Callable[[int, int], None]  # (done, total): the generation step's progress (denoising steps, rendered frames); may raise to stop
Progress = Callable[[int, int | None], None]


@dataclass
class GenerationContext:
    """What a kind may use to make its outputs. ``out_dir`` is a private folder for this run
    (the workflow removes it); ``backend`` is the loaded diffusion model when the kind asked
    for one (:meth:`CreativeKind.needs_model`) and the rights allow it; ``inputs`` holds what
    :meth:`CreativeKind.gather_inputs` asked the catalog for (strings, products, music beds)."""

    title_id: int
    title_name: str
    analysis: Analysis
    source: Path
    source_info: MediaInfo
    out_dir: Path
    settings: Settings
    rights: dict[str, Any] | None = None
    backend: Any | None = None
    on_step: StepCallback | None = None
    progress: Progress | None = None
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def source_sha256(self) -> str:
        return self.analysis.source_sha256


@dataclass(frozen=True)
class Term:
    """One contribution to a score, as the review UI charts it."""

    feature: str
    contribution: float
    weight: float | None = None
    normalised: float | None = None
    raw: float | None = None


@dataclass(frozen=True)
class CopyLine:
    """One piece of text drawn into a variant, beside the source it was translated from: the
    variant page shows them side by side (``field`` is "title", "tagline", "cta", "date"...)."""

    field: str
    rendered: str
    source: str | None = None  # the source-language text; None when the text is not translated
    locale: str | None = None
    flags: tuple[str, ...] = ()  # QA flags that concern this text (overflow, missing_glyphs...)


@dataclass(frozen=True)
class Explanation:
    """Why a variant looks the way it does, read from its recipe alone (no file is opened).

    ``facts`` are (label, text) lines in a reviewer's words; ``terms`` the score's contributions,
    largest first; ``details`` the kind's own structured data (crop, treatment, shots...);
    ``copy`` the texts drawn into it beside their sources; ``model_share`` the share of the
    pixels a model made (0..1; None when no model ran, so none did)."""

    heading: str  # "Why this frame", "Why these shots"
    summary: str | None = None
    generator: str | None = None
    score: float | None = None
    terms: tuple[Term, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    model: dict[str, Any] | None = None  # None: only classical processing ran
    seed: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    copy: tuple[CopyLine, ...] = ()
    model_share: float | None = None


@dataclass(frozen=True)
class Inspection:
    """What a kind reads off a variant's stored file for the reviewer (a decoded QR code, a
    measured loudness): ``facts`` are (label, text) lines; ``problems`` are the ones that should
    stop an approval (a QR that does not decode to its URL)."""

    facts: tuple[tuple[str, str], ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class KindCommand:
    """A kind's friendly command (``workbench thumbnails``): ``build`` is a function of the
    command's options, annotated for Typer, that returns the kind's Params. The CLI adds the
    TITLE argument and ``--json``, and runs the one generate path."""

    name: str
    build: Callable[..., Any]


TweakType = Literal["choice", "int"]


@dataclass(frozen=True)
class TweakSpec:
    """One change a reviewer may ask for when regenerating a slot: a choice out of ``choices``
    (value → label; a value of None means "none") or an integer in ``low..high``."""

    name: str
    label: str
    type: TweakType = "choice"
    choices: tuple[tuple[Any, str], ...] = ()
    low: int | None = None
    high: int | None = None
    help: str = ""


class CreativeKind(ABC):
    """Base of every creative kind. Subclasses set the class attributes and implement
    :meth:`generate`; the rest has a sound default that kinds override where they differ."""

    kind: ClassVar[str]  # the registry key and the Variant.kind of its outputs
    label: ClassVar[str]  # how people name it: "Thumbnail", "Trailer"
    version: ClassVar[str]  # bumped when the same parameters would make different files
    Params: ClassVar[type[KindParams]]
    needs_analysis: ClassVar[bool] = True
    tweaks: ClassVar[tuple[TweakSpec, ...]] = ()
    explain_heading: ClassVar[str] = "Why this variant"

    # -- 1. parameters ------------------------------------------------------------------------

    def parse_params(self, data: Mapping[str, Any] | KindParams) -> KindParams:
        """Typed parameters from job/brief JSON (or already typed)."""
        if isinstance(data, self.Params):
            return data
        return self.Params.from_dict(data)  # type: ignore[arg-type]

    def check_params(self, params: KindParams) -> None:
        """Pure and fast: runs before any rights check, model load or analysis. One line naming
        the field, as InvalidInput."""
        if not isinstance(params, self.Params):
            raise InvalidInput(f"{self.kind} parameters must be {self.Params.__name__}, got {type(params).__name__}")
        params.check()

    def brief_properties(self) -> dict[str, Any]:
        """The JSON Schema of a brief item's fields (from the Params declaration)."""
        return self.Params.brief_properties()

    def brief_required(self) -> tuple[str, ...]:
        return ()

    def fan_out(self, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A brief item (its fields as written, defaults not filled in) as job parameter JSON,
        one dict per job, every default filled in. Default: one job with the item as is."""
        params = self.Params.from_dict(item)
        return [params.to_dict()]

    def needs_model(self, params: KindParams, settings: Settings) -> str | None:
        """What a model would do here ("outpaint", "scene tags"), or None when no model runs:
        decides the queue (gpu) and whether the title's rights must clear it."""
        return None

    def wants_gpu(self, params: KindParams, settings: Settings) -> bool:
        """Whether the job belongs on the gpu queue: when a pixel-making model runs
        (:meth:`needs_model`), or a model that only reads pictures (scene tags) is configured."""
        return self.needs_model(params, settings) is not None

    def gather_inputs(self, params: KindParams, reader: Any) -> dict[str, Any]:
        """Inputs besides the title the kind needs from the catalog (via ``reader``, a
        read-only view the workflow provides), put in :attr:`GenerationContext.inputs`."""
        return {}

    # -- 2. generation ------------------------------------------------------------------------

    def check_inputs(self, context: GenerationContext, params: KindParams) -> None:
        """Checks that need the analysis (e.g. "no usable frame"), before rendering."""

    @abstractmethod
    def generate(self, context: GenerationContext, params: KindParams) -> list[Output]:
        """Render into ``context.out_dir`` and return the outputs with their recipes."""

    # -- 3. review ----------------------------------------------------------------------------

    def explain(self, recipe: Mapping[str, Any], score: float | None = None) -> Explanation:
        """Why a variant looks as it does, from its recipe (default: the generator and score)."""
        recipe = recipe or {}
        return Explanation(
            heading=self.explain_heading,
            generator=" ".join(str(recipe[k]) for k in ("generator", "generator_version") if recipe.get(k)) or None,
            score=score, model=recipe.get("model"), seed=recipe.get("seed"),
        )

    def inspect(self, path: Path, recipe: Mapping[str, Any]) -> Inspection:
        """Checks read off the stored file itself when the variant page opens (default: none).
        Must be quick (a page load) and never raise for a bad file: report it as a problem."""
        return Inspection()

    def apply_tweak(self, recipe: Mapping[str, Any], tweak: Mapping[str, Any]) -> KindParams:
        """The parameters that regenerate this recipe's slot with ``tweak`` applied."""
        known = {t.name for t in self.tweaks}
        unknown = sorted(set(tweak) - known)
        if unknown:
            raise InvalidInput(f"unknown tweak(s) {', '.join(unknown)}; known: {', '.join(sorted(known)) or 'none'}")
        raise InvalidInput(f"{self.label} variants cannot be regenerated with tweaks")

    def regenerate_params(self, params: KindParams) -> dict[str, Any]:
        """Job JSON for a regeneration (fields the workflow fills in when the job runs left out)."""
        return params.to_dict()

    # -- 5. the command line ------------------------------------------------------------------

    def cli_commands(self) -> list[KindCommand]:
        """Friendly commands of this kind (``workbench thumbnails``), registered by the CLI beside
        the generic ``workbench generate KIND``; imported when asked for."""
        return []

    def cli_apps(self) -> list[tuple[str, Any]]:
        """Command groups for the kind's inputs (``workbench strings import``, ``workbench
        products import``) and commands beyond one kind (``workbench ads``): (name, a Typer app or
        a plain command function) pairs the CLI mounts; imported when asked for."""
        return []

    # -- 4. export ----------------------------------------------------------------------------

    @property
    def export_folder(self) -> str:
        """The folder of its files inside an export (``thumbnails/``)."""
        return f"{self.kind}s"

    def deliveries(self, approved: Any) -> list[Any]:
        """The files ad ops receive for an approved variant (``workbench.deliveries``): default,
        the approved file itself and its sidecars."""
        return approved.own_files(self.export_folder)


class PluginError(InvalidInput):
    """A kind plugin (``WORKBENCH_PLUGINS``) that does not load or clashes with another kind."""
