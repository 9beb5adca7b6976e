"""Command line of the ad kinds: ``workbench products import FILE [--json]`` (a Typer app the core
mounts through ``cli_apps``), and the friendly commands ``workbench pause-ads TITLE`` and
``workbench shoppable TITLE`` (the options that build each kind's parameters; the CLI adds TITLE
and --json). ``--products`` takes a catalog file (imported first) or the sha256 of one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from generators.ads.kind import PauseAdParams
from generators.ads.shoppable import ShoppableParams
from generators.ads.spot import SpotParams
from workbench.errors import InvalidInput, WorkbenchError

products_app = typer.Typer(help="Product catalogs for pause ads and shoppable overlays (CSV or JSON).",
                           no_args_is_help=True)


@products_app.callback()
def products_group() -> None:
    """Product catalogs for pause ads and shoppable overlays (CSV or JSON)."""


@products_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A .csv or .json catalog: sku, name, brand, price, currency, landing_url, image, categories, markets.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Check a catalog (every problem listed, one line each), store it and its images by content hash."""
    from generators.ads.store import import_products
    from workbench.cli.output import emit_json, fail, say

    try:
        sha256, report = import_products(file)
    except WorkbenchError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(report.to_dict())
        return
    say(f"{report.products} products ({report.images_stored} images) stored as {sha256}")
    say(f"use it with: workbench pause-ads TITLE --products {sha256} --tracking-base https://...")


def _catalog(products: str) -> str:
    if re.fullmatch(r"[0-9a-f]{64}", products):
        return products
    path = Path(products)
    if not path.exists():
        raise InvalidInput(f"--products: {products!r} is neither a catalog file nor the sha256 of an imported one")
    from generators.ads.store import import_products

    return import_products(path)[0]


def pause_ads(
    products: Annotated[str, typer.Option(help="A product catalog (CSV/JSON), or the sha256 of one imported before.")],
    tracking_base: Annotated[str, typer.Option(help="The https URL the QR scans and tracking calls go to.")],
    campaign: Annotated[str, typer.Option(help="Campaign id, carried in every tracking URL.")] = "campaign",
    media_base: Annotated[str | None, typer.Option(help="Where the stills are served (the VAST's StaticResource base).")] = None,
    locale: Annotated[str, typer.Option(help="Locale of the price and copy, e.g. de_DE.")] = "en_US",
    market: Annotated[str | None, typer.Option(help="ISO 3166 market: products not sold there are left out.")] = None,
    maturity: Annotated[str, typer.Option(help="The title's maturity rating (G, PG, PG-13, R, NC-17).")] = "PG",
    max_ads: Annotated[int, typer.Option(help="At most this many pause ads for the title.")] = 3,
    strings: Annotated[str | None, typer.Option(help=STRINGS_HELP)] = None,
    backdrop: Annotated[str, typer.Option(help=BACKDROP_HELP)] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of a model-extended backdrop.")] = 0,
) -> PauseAdParams:
    """Pause ads: a still per stable, brand-safe moment with the best matching product and a QR code, plus VAST 4.2."""
    kwargs = {"tracking_base": tracking_base, "campaign": campaign, "media_base": media_base, "locale": locale,
              "market": market, "maturity": maturity, "max_ads": max_ads, "backdrop": backdrop, "seed": seed}
    PauseAdParams(products="0" * 64, **kwargs).check()  # every option checked before the catalog is read
    return PauseAdParams(products=_catalog(products), strings=_strings(strings), **kwargs)


STRINGS_HELP = ("Localized copy: a strings file to import (XLIFF, PO, CSV, JSON), the sha256 of one imported before, "
                "or 'last' for the set imported last; the locale must be in it.")
BACKDROP_HELP = ("auto: extend the frame with the diffusion model when one is configured and the title's rights allow it; "
                 "model: insist (refused when the rights deny it); classical: never.")


def _strings(value: str | None) -> str | None:
    """The sha256 of the strings set ``--strings`` names (a file is imported first)."""
    from generators.localization.cli import strings_reference

    return strings_reference(value)


def shoppable(
    products: Annotated[str, typer.Option(help="A product catalog (CSV/JSON), or the sha256 of one imported before.")],
    tracking_base: Annotated[str, typer.Option(help="The https URL the QR scans and tracking calls go to.")],
    campaign: Annotated[str, typer.Option(help="Campaign id, carried in every tracking URL.")] = "campaign",
    locale: Annotated[str, typer.Option(help="Locale of the price and copy, e.g. de_DE.")] = "en_US",
    market: Annotated[str | None, typer.Option(help="ISO 3166 market: products not sold there are left out.")] = None,
    maturity: Annotated[str, typer.Option(help="The title's maturity rating (G, PG, PG-13, R, NC-17).")] = "PG",
    max_ads: Annotated[int, typer.Option(help="At most this many hotspots for the title.")] = 3,
) -> ShoppableParams:
    """Shoppable overlays: hotspot JSON (time ranges x boxes x sku), overlay PNGs and a burned-in preview."""
    kwargs = {"tracking_base": tracking_base, "campaign": campaign, "locale": locale, "market": market,
              "maturity": maturity, "max_ads": max_ads}
    ShoppableParams(products="0" * 64, **kwargs).check()
    return ShoppableParams(products=_catalog(products), **kwargs)


def spots(
    products: Annotated[str, typer.Option(help="A product catalog (CSV/JSON), or the sha256 of one imported before.")],
    tracking_base: Annotated[str, typer.Option(help="The https URL the QR scans and tracking calls go to.")],
    duration: Annotated[int, typer.Option(help="Seconds, 6-15, the product end card included.")] = 10,
    formats: Annotated[str, typer.Option(help="Comma-separated: 16x9, 9x16.")] = "16x9",
    campaign: Annotated[str, typer.Option(help="Campaign id, carried in every tracking URL.")] = "campaign",
    locale: Annotated[str, typer.Option(help="Locale of the price and copy, e.g. de_DE.")] = "en_US",
    market: Annotated[str | None, typer.Option(help="ISO 3166 market: products not sold there are left out.")] = None,
    maturity: Annotated[str, typer.Option(help="The title's maturity rating (G, PG, PG-13, R, NC-17).")] = "PG",
    max_ads: Annotated[int, typer.Option(help="Spots to make (one per product, best matched first).")] = 1,
    ad_tag_url: Annotated[str | None, typer.Option(help="An https ad tag: the title's ad breaks are written as VMAP with it.")] = None,
) -> SpotParams:
    """Mid-roll spots: 6-15 s cuts of the title's best matching, brand-safe shots with a product end card and a QR code, plus VAST 4.2."""
    kwargs = {"tracking_base": tracking_base, "duration": duration, "campaign": campaign, "locale": locale,
              "market": market, "maturity": maturity, "max_ads": max_ads, "ad_tag_url": ad_tag_url,
              "formats": tuple(f.strip() for f in formats.split(",") if f.strip())}
    SpotParams(products="0" * 64, **kwargs).check()
    return SpotParams(products=_catalog(products), **kwargs)


FORMAT_KINDS = {"pause": ("pause_ad", PauseAdParams), "overlay": ("shoppable", ShoppableParams), "spot": ("spot", SpotParams)}


def ads(
    title: Annotated[str, typer.Argument(help="The title's name or id.")],
    products: Annotated[str, typer.Option(help="A product catalog (CSV/JSON), or the sha256 of one imported before.")],
    tracking_base: Annotated[str, typer.Option(help="The https URL the QR scans and tracking calls go to.")],
    formats: Annotated[str, typer.Option(help="Comma-separated: pause, overlay, spot.")] = "pause,overlay,spot",
    campaign: Annotated[str, typer.Option(help="Campaign id, carried in every tracking URL.")] = "campaign",
    locale: Annotated[str, typer.Option(help="Locale of the price and copy, e.g. de_DE.")] = "en_US",
    market: Annotated[str | None, typer.Option(help="ISO 3166 market: products not sold there are left out.")] = None,
    maturity: Annotated[str, typer.Option(help="The title's maturity rating (G, PG, PG-13, R, NC-17).")] = "PG",
    strings: Annotated[str | None, typer.Option(help=STRINGS_HELP + " (pause ads)")] = None,
    backdrop: Annotated[str, typer.Option(help=BACKDROP_HELP + " (pause ads)")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Pause ads, shoppable overlays and mid-roll spots of a title, each format through its own
    kind; one format that cannot be made is reported and the others still are. --json lists each
    creative with its image or video, VAST and hotspot files."""
    from workbench import workflow
    from workbench.cli.output import emit_json, fail, say

    try:
        wanted = [f.strip() for f in formats.split(",") if f.strip()]
        unknown = sorted(set(wanted) - set(FORMAT_KINDS))
        if unknown or not wanted:
            raise InvalidInput(f"unknown ad format(s) {', '.join(unknown) or '(none)'}; known: {', '.join(FORMAT_KINDS)}")
        common = {"tracking_base": tracking_base, "campaign": campaign, "locale": locale, "market": market, "maturity": maturity}
        own = {"pause": {"backdrop": backdrop}}  # options only pause ads take
        for f in wanted:  # every option checked for every format before the catalog is read
            FORMAT_KINDS[f][1](products="0" * 64, **common, **own.get(f, {})).check()
        catalog = _catalog(products)
        own["pause"]["strings"] = _strings(strings) if "pause" in wanted else None
    except WorkbenchError as exc:
        fail(exc, as_json)
    creatives: list[dict] = []
    problems: list[dict] = []
    for f in wanted:
        kind, params_type = FORMAT_KINDS[f]
        try:
            result = workflow.generate(kind, title, params_type(products=catalog, **common, **own.get(f, {})))
        except WorkbenchError as exc:
            problems.append({"format": f, "error": " ".join(str(exc).split())})
            continue
        for v in result.variants:
            creatives.append({"format": f, "kind": kind, "variant_id": v.variant_id, "version": v.version,
                              "locale": v.locale, "file": str(v.path), "vast": str(v.files["vast"]) if "vast" in v.files else None,
                              "hotspots": str(v.files["hotspots"]) if "hotspots" in v.files else None,
                              "files": {role: str(p) for role, p in v.files.items()}})
    if as_json:
        emit_json({"title": title, "creatives": creatives, "problems": problems})
    else:
        for c in creatives:
            say(f"{c['format']:<8} #{c['variant_id']} v{c['version']}  {c['file']}  vast: {c['vast'] or '-'}")
        for p in problems:
            say(f"{p['format']:<8} not made: {p['error']}", err=True)
    if problems and not creatives:
        raise InvalidInput(f"no ad made: {'; '.join(p['format'] + ': ' + p['error'] for p in problems)}")
