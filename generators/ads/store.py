"""Product catalogs kept like any asset: each product image stored by content hash (checked as
the very bytes that are stored, as ``workbench.music`` does for music beds), then one normalised
JSON document naming the images by hash. A kind refers to a catalog by that document's sha256."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from generators.ads.products import CatalogReport, Product, read_catalog
from workbench.errors import InvalidInput

CATALOG_FORMAT = "creative-workbench/products@1"


@dataclass(frozen=True)
class ImportReport:
    sha256: str
    path: Path  # the stored JSON
    products: int
    images_stored: int  # distinct image files
    skus: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "path": str(self.path), "products": self.products,
                "images_stored": self.images_stored, "skus": list(self.skus)}


def import_products(path: Path | str, settings: Any = None) -> tuple[str, ImportReport]:
    """Check a catalog in full (every problem listed, InvalidInput), store its images and its
    normalised JSON by content hash, catalogue them; the same catalog twice is the same sha256."""
    from workbench.catalog import open_catalog, repo
    from workbench.media.probe import probe
    from workbench.settings import get_settings
    from workbench.store import AssetStore

    settings = settings or get_settings()
    # 1. check everything before a byte is stored
    report: CatalogReport = read_catalog(path, settings)
    report.raise_for_problems()
    store = AssetStore(settings.store_dir)
    stored_images: dict[str, tuple[str, str, tuple[int, int], str, int]] = {}
    # 2. each image: what is checked is what is stored
    for written, source in report.images.items():
        with store.staged(source) as staged:
            info = probe(staged.path, settings, name=Path(written).name, ext=Path(written).suffix)
            stored = staged.commit()
        stored_images[written] = (stored.sha256, stored.ext, (info.width, info.height), info.mime, info.size_bytes)
    products = []
    for p in report.products:
        sha, ext, size, _mime, _bytes = stored_images[p.image]
        products.append(replace(p, image_sha256=sha, image_ext=ext, image_size=size))
    # 3. the normalised document (sorted keys, products in catalog order)
    doc = {"format": CATALOG_FORMAT, "source_name": Path(path).name, "products": [p.to_dict() for p in products]}
    data = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    stored_doc = store.put_bytes(data, ".json")
    with open_catalog(settings).session() as session:
        for written, (sha, ext, size, mime, nbytes) in stored_images.items():
            repo.add_asset_if_absent(session, sha256=sha, kind="image", mime=mime, ext=ext, size_bytes=nbytes,
                                     width=size[0], height=size[1], original_name=Path(written).name)
        repo.add_asset_if_absent(session, sha256=stored_doc.sha256, kind="document", mime="application/json",
                                 ext=".json", size_bytes=len(data), original_name=Path(path).name)
    return stored_doc.sha256, ImportReport(stored_doc.sha256, stored_doc.path, len(products),
                                           len({v[0] for v in stored_images.values()}), tuple(p.sku for p in products))


def load_products(sha256: str, settings: Any = None) -> list[Product]:
    """The products of an imported catalog (NotFound when it is not stored)."""
    from workbench.settings import get_settings
    from workbench.store import AssetStore, check_sha256

    settings = settings or get_settings()
    check_sha256(sha256)
    store = AssetStore(settings.store_dir)
    path = store.resolve(sha256, ".json")
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"product catalog {sha256[:12]} is not readable ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != CATALOG_FORMAT:
        raise InvalidInput(f"asset {sha256[:12]} is not a product catalog (import one with import_products)")
    return [Product.from_dict(d) for d in doc["products"]]


def product_image_path(product: Product, settings: Any = None) -> Path:
    """The stored image of an imported product."""
    from workbench.settings import get_settings
    from workbench.store import AssetStore

    settings = settings or get_settings()
    if not product.image_sha256:
        raise InvalidInput(f"product {product.sku}: its image is not stored (import the catalog first)")
    return AssetStore(settings.store_dir).resolve(product.image_sha256, product.image_ext or None)
