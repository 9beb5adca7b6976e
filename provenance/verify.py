"""Read and validate a file's C2PA manifest with c2pa's own Reader, as project types."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import c2pa
from cryptography import x509

from provenance.certs import trust_anchors_for
from provenance.manifest import RECIPE_LABEL, TRAINING_MINING_LABEL
from workbench.errors import ProvenanceError

if TYPE_CHECKING:
    from workbench.settings import Settings

ValidationState = Literal["Trusted", "Valid", "Invalid", "Unsigned"]

# C2PA's own status code for an error no specific code covers (e.g. a file that cannot be parsed).
GENERAL_ERROR = "general.error"


@dataclass(frozen=True)
class ActionSummary:
    action: str
    digital_source_type: str | None = None
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)  # without the ingredient references
    ingredients: tuple[str, ...] = ()  # titles of the ingredients the action refers to


@dataclass(frozen=True)
class IngredientSummary:
    title: str
    mime: str | None
    relationship: str
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class ManifestSummary:
    """The active manifest, in the project's words."""

    label: str
    title: str | None
    claim_generator: str | None  # "name version"
    signer: str | None  # the signing certificate's common name
    issuer: str | None  # the signing certificate's issuer organisation
    signed_at: str | None  # RFC 3339, only when a timestamp authority countersigned
    actions: tuple[ActionSummary, ...]
    ingredients: tuple[IngredientSummary, ...]
    recipe: dict[str, Any] | None
    training_mining: dict[str, str]  # use -> "allowed" | "notAllowed" | "constrained"

    @property
    def digital_source_types(self) -> tuple[str, ...]:
        """Every AI (or other) source claim the actions make; empty when none does."""
        return tuple(a.digital_source_type for a in self.actions if a.digital_source_type)


@dataclass(frozen=True)
class VerifyReport:
    path: Path
    state: ValidationState
    codes: tuple[str, ...]  # failure status codes, e.g. assertion.dataHash.mismatch
    manifest: ManifestSummary | None = None
    detail: str | None = None  # why a file could not be read at all


def verify_file(path: Path, trust_anchors_pem: bytes | None = None) -> VerifyReport:
    """Validate ``path``'s manifest. With ``trust_anchors_pem`` (PEM roots, replacing any built-in
    list) a good file chaining to one of them is ``Trusted``; otherwise at best ``Valid``."""
    path = Path(path)

    # 1. check inputs
    if not path.is_file():
        raise ProvenanceError(f"file to verify not found: {path}")
    if trust_anchors_pem is not None:
        _check_pem_certificates(trust_anchors_pem)

    # 2. read and validate with c2pa
    try:
        with _reader_context(trust_anchors_pem) as context, c2pa.Reader(path, context=context) as reader:
            store = json.loads(reader.json())
            raw = json.loads(reader.crjson())
    except c2pa.C2paError.ManifestNotFound:
        return VerifyReport(path=path, state="Unsigned", codes=())
    except c2pa.C2paError as e:
        return VerifyReport(path=path, state="Invalid", codes=(GENERAL_ERROR,), detail=" ".join(str(e).split()))

    # 3. summarise
    state = store.get("validation_state")
    if state not in ("Trusted", "Valid", "Invalid"):
        state = "Invalid"
    return VerifyReport(path=path, state=state, codes=_failure_codes(store), manifest=_summarise(store, raw))


def verify_with_settings(path: Path, settings: Settings) -> VerifyReport:
    """``verify_file`` trusting ``settings.trust_anchors``, or the development root by default."""
    return verify_file(path, trust_anchors_for(settings))


# -- helpers -----------------------------------------------------------------------------------


def _reader_context(trust_anchors_pem: bytes | None) -> c2pa.Context:
    # Verification never reaches the network: no remote manifests, no OCSP.
    config: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if trust_anchors_pem is not None:
        config["trust"] = {"trust_anchors": trust_anchors_pem.decode("ascii")}
    return c2pa.Context.from_dict(config)


def _check_pem_certificates(pem: bytes) -> None:
    try:
        x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise ProvenanceError("trust anchors are not PEM certificates") from None


def _failure_codes(store: dict[str, Any]) -> tuple[str, ...]:
    results = store.get("validation_results")
    if results is None:
        entries = store.get("validation_status", [])
    else:
        entries = list(results.get("activeManifest", {}).get("failure", []))
        for delta in results.get("ingredientDeltas", []):
            entries += delta.get("validationDeltas", {}).get("failure", [])
    return tuple(dict.fromkeys(e["code"] for e in entries))  # ordered, no repeats


def _summarise(store: dict[str, Any], raw: dict[str, Any]) -> ManifestSummary | None:
    label = store.get("active_manifest")
    manifest = store.get("manifests", {}).get(label)
    if manifest is None:
        return None
    # Assertion data comes from crJSON: the plain JSON view turns arrays of numbers into base64
    # strings (and drops float arrays), which would corrupt the recipe and action parameters.
    assertions = next((m.get("assertions", {}) for m in raw.get("manifests", []) if m.get("label") == label), {})

    ingredient_titles: dict[str, str] = {}
    ingredients = []
    for key, data in assertions.items():
        if key.startswith("c2pa.ingredient"):
            title = data.get("dc:title") or data.get("title") or ""
            ingredient_titles[key] = title
            ingredients.append(
                IngredientSummary(
                    title=title,
                    mime=data.get("dc:format") or data.get("format"),
                    relationship=data.get("relationship", ""),
                    metadata=data.get("metadata"),
                )
            )

    actions = []
    for key, data in assertions.items():
        if key.startswith("c2pa.actions"):
            actions += [_action_summary(a, ingredient_titles) for a in data.get("actions", [])]

    generator = (manifest.get("claim_generator_info") or [{}])[0]
    signature = manifest.get("signature_info") or {}
    training = assertions.get(TRAINING_MINING_LABEL, {}).get("entries", {})
    return ManifestSummary(
        label=label,
        title=manifest.get("title"),
        claim_generator=" ".join(str(generator[k]) for k in ("name", "version") if generator.get(k)) or None,
        signer=signature.get("common_name"),
        issuer=signature.get("issuer"),
        signed_at=signature.get("time"),
        actions=tuple(actions),
        ingredients=tuple(ingredients),
        recipe=assertions.get(RECIPE_LABEL),
        training_mining={use: entry.get("use", "") for use, entry in training.items()},
    )


def _action_summary(action: dict[str, Any], ingredient_titles: dict[str, str]) -> ActionSummary:
    parameters = dict(action.get("parameters") or {})
    refs = parameters.pop("ingredients", [])
    if "ingredient" in parameters:  # actions v1 spelling
        refs = [parameters.pop("ingredient")]
    titles = []
    for ref in refs:
        key = str(ref.get("url", "")).rsplit("c2pa.assertions/", 1)[-1]
        titles.append(ingredient_titles.get(key, key))
    return ActionSummary(
        action=action.get("action", ""),
        digital_source_type=action.get("digitalSourceType"),
        description=action.get("description") or parameters.pop("description", None),
        parameters=parameters,
        ingredients=tuple(titles),
    )
