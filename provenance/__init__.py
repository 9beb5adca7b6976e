"""C2PA provenance: development/production signing identities, signing, verification.

The only package that talks to c2pa-python; everything else uses these project types.
"""

from provenance.certs import (
    SigningIdentity,
    ensure_dev_identity,
    load_identity,
    load_production_identity,
    trust_anchors_for,
)
from provenance.manifest import (
    COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
    RECIPE_LABEL,
    TRAINED_ALGORITHMIC_MEDIA,
    TRAINING_MINING_USES,
    ManifestSpec,
    SignResult,
    sign_file,
    sign_with_settings,
)
from workbench.creative import Ingredient  # re-exported: a manifest's ingredients are project types
from provenance.verify import (
    ActionSummary,
    IngredientSummary,
    ManifestSummary,
    ValidationState,
    VerifyReport,
    verify_file,
    verify_with_settings,
)

__all__ = [
    "COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA",
    "RECIPE_LABEL",
    "TRAINED_ALGORITHMIC_MEDIA",
    "TRAINING_MINING_USES",
    "ActionSummary",
    "Ingredient",
    "IngredientSummary",
    "ManifestSpec",
    "ManifestSummary",
    "SignResult",
    "SigningIdentity",
    "ValidationState",
    "VerifyReport",
    "ensure_dev_identity",
    "load_identity",
    "load_production_identity",
    "sign_file",
    "sign_with_settings",
    "trust_anchors_for",
    "verify_file",
    "verify_with_settings",
]
