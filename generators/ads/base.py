"""What every ad kind shares (pause ads, shoppable overlays, spots): a product catalog as input,
the gpu queue when a scene model is configured, and the ``workbench products`` commands."""

from __future__ import annotations

from typing import Any

from generators.base import CreativeKind, GenerationContext
from workbench.errors import InvalidInput


class AdKind(CreativeKind):
    """Base of the ad kinds; each still implements its own parameters, generation and review."""

    def brief_required(self) -> tuple[str, ...]:
        return ("products", "tracking_base")

    def gather_inputs(self, params: Any, reader: Any) -> dict[str, Any]:
        """The imported catalog's products and where their stored images are."""
        from generators.ads.store import load_products

        products = load_products(params.products, reader.settings)
        images = {p.sku: reader.stored_path(p.image_sha256, p.image_ext) for p in products}
        return {"products": products, "product_images": images}

    def check_inputs(self, context: GenerationContext, params: Any) -> None:
        if not context.inputs.get("products"):
            raise InvalidInput("the product catalog has no products")

    def wants_gpu(self, params: Any, settings: Any) -> bool:
        """Scene tagging with a configured model runs on the gpu queue (it reads pixels, makes
        none: no diffusion rights check, see :meth:`needs_model`)."""
        return settings.scene_model is not None

    def cli_apps(self) -> list[tuple[str, Any]]:
        from generators.ads.cli import products_app

        return [("products", products_app)]
