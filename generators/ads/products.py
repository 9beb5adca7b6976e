"""The product catalog an advertiser hands over: CSV or JSON, one product a row, checked in full
before anything is stored. Every problem is one line (``row 3: price 'abc' is not a number``),
and all of them are reported at once, so a catalog is fixed in one round trip.

Fields: ``sku, name, brand, price, currency, landing_url, image`` (required), ``categories`` and
``markets`` (lists; ``;``-separated in CSV), ``copy`` (a short line of ad copy) and ``exclude``
(moods or scene tags this product never appears beside). ``image`` is a path relative to the
catalog file; it must stay inside the catalog's folder (no absolute path, no ``..``, no symlink
out) and is checked like any still (type, size, decompression bombs, orientation).
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from workbench.errors import InvalidInput

REQUIRED = ("sku", "name", "brand", "price", "currency", "landing_url", "image")
OPTIONAL = ("categories", "markets", "copy", "exclude")
MAX_PRODUCTS = 100_000
MAX_CATALOG_BYTES = 64 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 50  # a catalog with 100k bad rows is one screen of lines, and a count
MAX_PRICE_DIGITS = 12  # integer digits: 999 999 999 999.99 is already absurd for a product
MAX_PRICE_PLACES = 4
MAX_URL = 2048
LANDING_SCHEMES = ("https",)  # a TV-scanned QR and an ad server's click-through: https only
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")

_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9 &'._-]{0,39}$")
_MARKET = re.compile(r"^[A-Z]{2}$")
_BLANK = re.compile(r"\s")
_LIMITS = {"name": 120, "brand": 80, "copy": 140}


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    brand: str
    price: Decimal
    currency: str
    landing_url: str
    image: str  # as written in the catalog (relative to it); after import, the stored file's name
    categories: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()  # ISO 3166 alpha-2; empty: every market
    copy: str | None = None
    exclude: tuple[str, ...] = ()  # moods / scene tags this product never appears beside
    image_sha256: str | None = None  # set once the image is stored
    image_ext: str | None = None
    image_size: tuple[int, int] | None = field(default=None, compare=False)

    def in_market(self, market: str | None) -> bool:
        return market is None or not self.markets or market in self.markets

    def to_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "name": self.name, "brand": self.brand, "price": str(self.price),
                "currency": self.currency, "landing_url": self.landing_url, "image": self.image,
                "categories": list(self.categories), "markets": list(self.markets), "copy": self.copy,
                "exclude": list(self.exclude), "image_sha256": self.image_sha256, "image_ext": self.image_ext,
                "image_size": list(self.image_size) if self.image_size else None}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Product:
        return cls(sku=d["sku"], name=d["name"], brand=d["brand"], price=Decimal(d["price"]), currency=d["currency"],
                   landing_url=d["landing_url"], image=d["image"], categories=tuple(d.get("categories") or ()),
                   markets=tuple(d.get("markets") or ()), copy=d.get("copy"), exclude=tuple(d.get("exclude") or ()),
                   image_sha256=d.get("image_sha256"), image_ext=d.get("image_ext"),
                   image_size=tuple(d["image_size"]) if d.get("image_size") else None)


@dataclass(frozen=True)
class CatalogReport:
    """A read catalog: the products that passed, and one line per problem (empty: all good)."""

    path: Path
    products: tuple[Product, ...]
    problems: tuple[str, ...]
    images: dict[str, Path] = field(default_factory=dict)  # image as written -> the checked file

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        if self.problems:
            shown = list(self.problems[:MAX_PROBLEMS_SHOWN])
            more = len(self.problems) - len(shown)
            if more > 0:
                shown.append(f"... and {more} more problem(s)")
            raise InvalidInput(f"{self.path.name}: {len(self.problems)} problem(s):\n" + "\n".join(shown))


class _Huge:
    """A JSON number too long to be a price (kept as text, refused by the price check)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _parse_int(text: str) -> Any:
    return _Huge(text) if len(text) > 40 else Decimal(text)


def _parse_constant(text: str) -> Any:
    return _Huge(text)  # NaN, Infinity, -Infinity


def read_catalog(path: Path | str, settings: Any = None, *, known_categories: Any = None,
                 check_images: bool = True) -> CatalogReport:
    """Read and check a catalog (``.csv`` or ``.json``: a list of objects, or ``{"products": [...]}``).
    ``known_categories`` (default: the affinity table's) names the categories a product may have."""
    from workbench.settings import get_settings

    path = Path(path)
    settings = settings or get_settings()
    if known_categories is None:
        from generators.ads.match import load_affinity

        known_categories = tuple(load_affinity()["categories"])
    # 1. the file itself
    if not path.is_file():
        raise InvalidInput(f"{path}: no such catalog file")
    size = path.stat().st_size
    if size > MAX_CATALOG_BYTES:
        raise InvalidInput(f"{path.name}: {size} bytes is over the {MAX_CATALOG_BYTES}-byte catalog limit")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise InvalidInput(f"{path.name}: a catalog is .csv or .json, not {suffix or '(no suffix)'}")
    # 2. rows, streamed (a CSV row is read, checked and dropped: memory holds products, not text)
    problems: list[str] = []
    products: list[Product] = []
    seen: dict[str, int] = {}
    images: dict[str, Path] = {}
    image_problems: dict[str, str | None] = {}
    try:
        rows = _csv_rows(path) if suffix == ".csv" else _json_rows(path)
        for n, row in rows:
            if n > MAX_PRODUCTS:
                problems.append(f"more than {MAX_PRODUCTS} products; split the catalog")
                break
            product, row_problems = _check_row(n, row, known_categories)
            if product is not None and product.sku in seen:
                row_problems.append(f"row {n}: sku {product.sku!r} is already used by row {seen[product.sku]}")
            if product is not None and not row_problems and check_images:
                if product.image not in image_problems:
                    image_problems[product.image] = _check_image(path.parent, product.image, settings, images)
                if image_problems[product.image]:
                    row_problems.append(f"row {n}: image {_shown(product.image)}: {image_problems[product.image]}")
            if product is not None:
                seen.setdefault(product.sku, n)
            if row_problems:
                problems.extend(row_problems)
            elif product is not None:
                products.append(product)
    except InvalidInput as exc:
        problems.append(str(exc))
    if not products and not problems:
        problems.append("the catalog has no products")
    return CatalogReport(path, tuple(products), tuple(problems), images)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        fh = path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InvalidInput(f"{path.name}: cannot read ({exc})") from None
    with fh:
        csv.field_size_limit(64 * 1024)
        reader = csv.DictReader(fh)
        try:
            header = reader.fieldnames or []
            _check_header([h.strip() for h in header])
            for n, row in enumerate(reader, 1):
                if None in row:
                    yield n, {"__extra__": True}
                    continue
                out: dict[str, Any] = {}
                for key, value in row.items():
                    key = key.strip()
                    value = (value or "").strip()
                    if key in ("categories", "markets", "exclude"):
                        out[key] = [v.strip() for v in value.split(";") if v.strip()]
                    elif key == "copy":
                        out[key] = value or None
                    else:
                        out[key] = value
                yield n, out
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{path.name}: not a readable UTF-8 CSV ({exc})") from None


def _check_header(header: list[str]) -> None:
    missing = [f for f in REQUIRED if f not in header]
    unknown = [f for f in header if f not in REQUIRED and f not in OPTIONAL]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(map(_shown, unknown))}")
        raise InvalidInput("header: " + "; ".join(parts) + f" (columns: {', '.join(REQUIRED + OPTIONAL)})")


def _json_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"), parse_float=Decimal, parse_int=_parse_int,
                          parse_constant=_parse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"{path.name}: not readable JSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("products"), list):
        data = data["products"]
    if not isinstance(data, list):
        raise InvalidInput(f"{path.name}: expected a list of products or {{\"products\": [...]}}")
    for n, row in enumerate(data, 1):
        yield n, row if isinstance(row, dict) else {"__not_object__": type(row).__name__}


def _shown(value: Any, limit: int = 60) -> str:
    text = value.text if isinstance(value, _Huge) else str(value)
    text = repr(text[:limit] + ("…" if len(text) > limit else ""))
    return text


def _text(n: int, row: Mapping[str, Any], name: str, problems: list[str], *, limit: int) -> str | None:
    value = row.get(name)
    if value is None or value == "":
        problems.append(f"row {n}: {name} is missing")
        return None
    if not isinstance(value, str):
        problems.append(f"row {n}: {name} must be text, got {type(value).__name__}")
        return None
    value = unicodedata.normalize("NFC", value.strip())
    if len(value) > limit or not value.isprintable():
        problems.append(f"row {n}: {name} must be one printable line of at most {limit} characters")
        return None
    return value


def _list(n: int, row: Mapping[str, Any], name: str, problems: list[str]) -> tuple[str, ...]:
    value = row.get(name)
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(";") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 32:
        problems.append(f"row {n}: {name} must be a list of at most 32 names")
        return ()
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))


def check_price(value: Any) -> Decimal:
    """A price as a Decimal: finite, not negative, at most 12 integer digits and 4 places."""
    if isinstance(value, _Huge):
        raise InvalidInput(f"price {_shown(value)} is not a finite number of sensible size")
    if isinstance(value, bool) or not isinstance(value, (str, Decimal, int)):
        raise InvalidInput(f"price must be a number, got {type(value).__name__}")
    text = str(value).strip()
    if len(text) > 40:
        raise InvalidInput(f"price {_shown(text)} is too long to be a price")
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"price {_shown(text)} is not a number") from None
    if not price.is_finite():
        raise InvalidInput(f"price {_shown(text)} is not a finite number")
    if price < 0:
        raise InvalidInput(f"price {_shown(text)} is negative")
    _sign, digits, exponent = price.as_tuple()
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    integer_digits = len(digits) - places if isinstance(exponent, int) else len(digits)
    if isinstance(exponent, int) and exponent > 0:
        integer_digits = len(digits) + exponent
    if integer_digits > MAX_PRICE_DIGITS or places > MAX_PRICE_PLACES:
        raise InvalidInput(f"price {_shown(text)} has more than {MAX_PRICE_DIGITS} digits or {MAX_PRICE_PLACES} decimal places")
    return price


def check_landing_url(value: Any, schemes: tuple[str, ...] = LANDING_SCHEMES) -> str:
    """An absolute https URL with a host, no blanks or control characters, at most 2048 long."""
    if not isinstance(value, str) or not value:
        raise InvalidInput("landing_url is missing")
    if len(value) > MAX_URL or not value.isprintable() or _BLANK.search(value):
        raise InvalidInput(f"landing_url {_shown(value)} has blanks or control characters, or is over {MAX_URL} long")
    try:
        parts = urlsplit(value)
        port = parts.port  # noqa: F841 (a bad port raises)
    except ValueError:
        raise InvalidInput(f"landing_url {_shown(value)} is not a URL") from None
    if parts.scheme.lower() not in schemes:
        raise InvalidInput(f"landing_url {_shown(value)} must be {' or '.join(schemes)}, not {parts.scheme or 'relative'}")
    if not parts.hostname or parts.username or parts.password:
        raise InvalidInput(f"landing_url {_shown(value)} needs a host and no user name or password")
    return value


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


@lru_cache(maxsize=1)
def _markets() -> frozenset[str]:
    from babel import Locale

    return frozenset(k for k in Locale("en").territories if _MARKET.match(k))


def _check_row(n: int, row: Mapping[str, Any], known_categories: Any) -> tuple[Product | None, list[str]]:
    problems: list[str] = []
    if "__not_object__" in row:
        return None, [f"row {n}: a product must be an object, got {row['__not_object__']}"]
    if "__extra__" in row:
        return None, [f"row {n}: more fields than the header has columns"]
    unknown = sorted(k for k in row if k not in REQUIRED and k not in OPTIONAL)
    if unknown:
        problems.append(f"row {n}: unknown field(s) {', '.join(map(_shown, unknown))}")
    sku = _text(n, row, "sku", problems, limit=64)
    if sku is not None and not _SKU.match(sku):
        problems.append(f"row {n}: sku {_shown(sku)} must be 1-64 letters, digits, '.', '_' or '-'")
        sku = None
    name = _text(n, row, "name", problems, limit=_LIMITS["name"])
    brand = _text(n, row, "brand", problems, limit=_LIMITS["brand"])
    price = None
    if row.get("price") in (None, ""):
        problems.append(f"row {n}: price is missing")
    else:
        try:
            price = check_price(row["price"])
        except InvalidInput as exc:
            problems.append(f"row {n}: {exc}")
    currency = _text(n, row, "currency", problems, limit=16)
    if currency is not None and currency not in _currencies():
        problems.append(f"row {n}: currency {_shown(currency)} is not an ISO 4217 code (e.g. EUR, USD, GBP)")
        currency = None
    landing = row.get("landing_url")
    if landing in (None, ""):
        problems.append(f"row {n}: landing_url is missing")
        landing = None
    else:
        try:
            landing = check_landing_url(landing)
        except InvalidInput as exc:
            problems.append(f"row {n}: {exc}")
            landing = None
    image = _text(n, row, "image", problems, limit=255)
    if image is not None:
        reason = _image_path_problem(image)
        if reason:
            problems.append(f"row {n}: image {_shown(image)}: {reason}")
            image = None
    categories = _list(n, row, "categories", problems)
    bad = [c for c in categories if c not in known_categories]
    if bad:
        problems.append(f"row {n}: unknown categor(y/ies) {', '.join(map(_shown, bad))}; known: {', '.join(known_categories)}")
    markets = _list(n, row, "markets", problems)
    bad = [m for m in markets if m not in _markets()]
    if bad:
        problems.append(f"row {n}: market(s) {', '.join(map(_shown, bad))} are not ISO 3166 country codes (e.g. US, DE)")
    exclude = _list(n, row, "exclude", problems)
    bad = [e for e in exclude if not _NAME.match(e)]
    if bad:
        problems.append(f"row {n}: exclude {', '.join(map(_shown, bad))}: names are lowercase words")
    copy = row.get("copy")
    if copy not in (None, ""):
        copy = _text(n, row, "copy", problems, limit=_LIMITS["copy"])
    else:
        copy = None
    if problems or None in (sku, name, brand, price, currency, landing, image):
        return (None if sku is None else _partial(sku)), problems
    return Product(sku=sku, name=name, brand=brand, price=price, currency=currency, landing_url=landing,  # type: ignore[arg-type]
                   image=image, categories=categories, markets=markets, copy=copy, exclude=exclude), problems  # type: ignore[arg-type]


def _partial(sku: str) -> Product:
    """A placeholder carrying only the sku, so a duplicate of a bad row is still found."""
    return Product(sku=sku, name="", brand="", price=Decimal(0), currency="", landing_url="", image="")


def _image_path_problem(image: str) -> str | None:
    if "\\" in image or "\x00" in image:
        return "use '/' between folders"
    p = Path(image)
    if p.is_absolute() or image.startswith("/") or re.match(r"^[A-Za-z]:", image):
        return "must be a path relative to the catalog file, not an absolute path"
    if any(part == ".." for part in p.parts):
        return "must stay inside the catalog's folder (no '..')"
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        return f"must be {', '.join(IMAGE_SUFFIXES)}"
    return None


def _check_image(folder: Path, image: str, settings: Any, images: dict[str, Path]) -> str | None:
    """None when the image is a good still inside ``folder``; else why not (one line)."""
    from workbench.media.probe import probe

    root = folder.resolve()
    path = folder / image
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "no such file"
    if not resolved.is_relative_to(root):
        return "a link that leads outside the catalog's folder"
    if not resolved.is_file():
        return "not a regular file"
    try:
        probe(resolved, settings, name=Path(image).name, ext=Path(image).suffix)
    except InvalidInput as exc:
        return str(exc)
    images[image] = resolved
    return None
