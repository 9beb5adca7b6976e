"""The product catalog: every class of bad input is refused with its own line, all at once, and a
good catalog is stored by content hash (images as checked, JSON normalised) and read back."""

from __future__ import annotations

import json
import os
import struct
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from generators.ads.products import read_catalog
from generators.ads.store import import_products, load_products, product_image_path
from workbench.errors import InvalidInput

HEADER = "sku,name,brand,price,currency,landing_url,image,categories,markets,copy\n"


def product_png(path: Path, colour=(200, 40, 40), size=(320, 240)) -> Path:
    im = Image.new("RGB", size, (245, 245, 245))
    m = min(40, size[0] // 4, size[1] // 4)
    ImageDraw.Draw(im).rectangle((m, m, size[0] - m, size[1] - m), fill=colour)
    im.save(path)
    return path


def bomb_png(path: Path, side: int = 5000) -> Path:
    """A valid PNG header claiming side x side grey pixels in a few KiB of zlib stream."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = zlib.compress(b"\x00" * (side + 1) * 64, 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "catalog"
    d.mkdir()
    product_png(d / "mug.png")
    product_png(d / "lamp.png", (40, 90, 200))
    return d


def test_a_good_csv_reads_with_lists_decimal_prices_and_checked_images(folder) -> None:
    (folder / "p.csv").write_text(HEADER + "MUG-1,Morning Mug,Acme,12.50,EUR,https://shop.example.com/mug,mug.png,food;home,DE;FR,Hot\n"
                                  "LAMP-2,Lamp,Lumo,49,USD,https://shop.example.com/lamp,lamp.png,home,,\n")
    report = read_catalog(folder / "p.csv")
    assert report.ok, report.problems
    mug, lamp = report.products
    assert mug.price == Decimal("12.50") and isinstance(mug.price, Decimal)
    assert mug.categories == ("food", "home") and mug.markets == ("DE", "FR") and mug.copy == "Hot"
    assert lamp.markets == () and lamp.in_market("JP") and not mug.in_market("JP")


def test_every_problem_is_listed_one_line_each(folder, tmp_path) -> None:
    outside = product_png(tmp_path / "outside.png")
    os.symlink(outside, folder / "link.png")
    bomb_png(folder / "bomb.png")
    (folder / "text.png").write_text("not a picture at all\n")
    product_png(folder / "tiny.png", size=(20, 20))
    rows = [
        "A1,Ok,Acme,1.00,EUR,javascript:alert(1),mug.png,food,,",  # 1 bad URL scheme
        "A2,Ok,Acme,1.00,EUR,http://shop.example.com/x,mug.png,food,,",  # 2 not https
        "A3,Ok,Acme,abc,EUR,https://shop.example.com/x,mug.png,food,,",  # 3 price not a number
        f"A4,Ok,Acme,{'9' * 400},EUR,https://shop.example.com/x,mug.png,food,,",  # 4 huge integer
        "A5,Ok,Acme,NaN,EUR,https://shop.example.com/x,mug.png,food,,",  # 5 NaN
        "A6,Ok,Acme,1.00,EURO,https://shop.example.com/x,mug.png,food,,",  # 6 currency
        "A7,Ok,Acme,1.00,EUR,https://shop.example.com/x,../outside.png,food,,",  # 7 escape
        f"A8,Ok,Acme,1.00,EUR,https://shop.example.com/x,{outside},food,,",  # 8 absolute
        "A9,Ok,Acme,1.00,EUR,https://shop.example.com/x,link.png,food,,",  # 9 symlink out
        "A10,Ok,Acme,1.00,EUR,https://shop.example.com/x,bomb.png,food,,",  # 10 bomb
        "A11,Ok,Acme,1.00,EUR,https://shop.example.com/x,text.png,food,,",  # 11 wrong type
        "A12,,,1.00,EUR,https://shop.example.com/x,,food,,",  # 12 missing fields
        "A13,Ok,Acme,1.00,EUR,https://shop.example.com/x,mug.png,weapons,XX,",  # 13 category, market
        "A1,Ok,Acme,1.00,EUR,https://shop.example.com/x,mug.png,food,,",  # 14 duplicate sku
        "A15,Ok,Acme,1.00,EUR,https://shop.example.com/x,tiny.png,food,,",  # 15 too small
        "A16,Ok,Acme,-3,EUR,https://shop.example.com/x,mug.png,food,,",  # 16 negative
        "A17,Ok,Acme,1.00,EUR,https://shop.example.com/x,missing.png,food,,",  # 17 no file
    ]
    (folder / "bad.csv").write_text(HEADER + "\n".join(rows) + "\n")
    report = read_catalog(folder / "bad.csv")
    text = "\n".join(report.problems)
    expect = {
        1: "must be https", 2: "must be https", 3: "is not a number", 4: "too long", 5: "not a finite number",
        6: "ISO 4217", 7: "no '..'", 8: "absolute path", 9: "outside the catalog", 10: "decompression bomb",
        11: "not the png", 12: "name is missing", 13: "unknown categor", 14: "already used by row 1",
        15: "too small", 16: "negative", 17: "no such file",
    }
    for row, needle in expect.items():
        assert any(p.startswith(f"row {row}:") and needle in p for p in report.problems), (row, needle, text)
    assert any(p.startswith("row 12:") and "brand is missing" in p for p in report.problems)
    assert any(p.startswith("row 12:") and "image is missing" in p for p in report.problems)
    assert any(p.startswith("row 13:") and "ISO 3166" in p for p in report.problems)
    assert [p.sku for p in report.products] == []  # row 1's sku was bad; nothing passed
    with pytest.raises(InvalidInput) as exc:
        report.raise_for_problems()
    assert "problem(s)" in str(exc.value) and "row 17" in str(exc.value)


def test_json_catalogs_refuse_nan_huge_numbers_and_missing_fields(folder) -> None:
    body = ('[{"sku": "J1", "name": "N", "brand": "B", "price": NaN, "currency": "EUR", '
            '"landing_url": "https://s.example.com", "image": "mug.png"},'
            '{"sku": "J2", "name": "N", "brand": "B", "price": 1' + "0" * 500 + ', "currency": "EUR", '
            '"landing_url": "https://s.example.com", "image": "mug.png"},'
            '{"sku": "J3", "name": "N", "price": 2.5, "currency": "EUR", "landing_url": "https://s.example.com"},'
            '{"sku": "J4", "name": "N", "brand": "B", "price": 19.99, "currency": "GBP", '
            '"landing_url": "https://s.example.com/j4", "image": "lamp.png", "categories": ["home"], "evil": 1}]')
    (folder / "p.json").write_text(body)
    report = read_catalog(folder / "p.json")
    lines = "\n".join(report.problems)
    assert "row 1: price 'NaN'" in lines and "row 2: price" in lines
    assert "row 3: brand is missing" in lines and "row 3: image is missing" in lines
    assert "row 4: unknown field(s) 'evil'" in lines
    assert report.products == ()


def test_a_header_without_required_columns_is_one_clear_line(folder) -> None:
    (folder / "p.csv").write_text("sku,name,colour\nX,Y,red\n")
    report = read_catalog(folder / "p.csv")
    assert len(report.problems) == 1
    assert "missing column(s) brand, price, currency, landing_url, image" in report.problems[0]
    assert "unknown column(s) 'colour'" in report.problems[0]


def big_catalog(folder: Path, rows: int) -> Path:
    path = folder / f"big-{rows}.csv"
    path.write_text(HEADER + "".join(f"S{n},Product {n},Acme,{n % 97}.99,EUR,https://shop.example.com/{n},mug.png,"
                                     "home,,\n" for n in range(rows)))
    return path


def test_a_catalog_at_the_row_limit_reads_with_each_image_checked_once(folder) -> None:
    from generators.ads.products import MAX_PRODUCTS

    report = read_catalog(big_catalog(folder, MAX_PRODUCTS))  # 100,000 rows, 8 MB
    assert report.ok and len(report.products) == MAX_PRODUCTS
    assert len(report.images) == 1  # one image file, checked once


def test_reading_a_large_catalog_holds_the_products_and_little_more(folder) -> None:
    """Bounded memory: the read streams the file, so its peak is what it returns (the products)
    plus a little, linear in the rows (about 0.8 kB a product: 80 MB at the 100,000-row limit)."""
    import tracemalloc

    path = big_catalog(folder, 20_000)
    tracemalloc.start()
    try:
        report = read_catalog(path)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok and len(report.products) == 20_000
    assert peak < 1.3 * kept, (kept, peak)  # no second copy of the file or of the rows on the way
    assert kept / 20_000 < 1500, kept  # bytes a product


def test_import_stores_images_and_json_by_hash_and_loads_back(home, folder) -> None:
    from workbench.catalog import open_catalog, repo
    from workbench.settings import get_settings

    (folder / "p.csv").write_text(HEADER + "MUG-1,Mug <b>&</b> ]]>,Acme,12.50,EUR,https://shop.example.com/m?a=1&b=2,mug.png,food,DE,\n"
                                  "LAMP-2,Lamp,Lumo,49,EUR,https://shop.example.com/lamp,lamp.png,home,,\n"
                                  "MUG-2,Mug two,Acme,13,EUR,https://shop.example.com/m2,mug.png,food,,\n")
    sha, report = import_products(folder / "p.csv")
    assert report.products == 3 and report.images_stored == 2
    again, _ = import_products(folder / "p.csv")
    assert again == sha  # same catalog, same asset
    products = load_products(sha)
    assert [p.sku for p in products] == ["MUG-1", "LAMP-2", "MUG-2"]
    assert products[0].name == "Mug <b>&</b> ]]>" and products[0].price == Decimal("12.50")
    assert product_image_path(products[0]).read_bytes() == (folder / "mug.png").read_bytes()
    assert products[0].image_sha256 == products[2].image_sha256 and products[0].image_size == (320, 240)
    settings = get_settings()
    with open_catalog(settings).session() as session:
        assert repo.get_asset_by_sha256(session, sha).kind == "document"
        assert repo.get_asset_by_sha256(session, products[1].image_sha256).kind == "image"
    doc = json.loads(Path(report.path).read_text())
    assert doc["format"].startswith("creative-workbench/products")


def test_import_of_a_bad_catalog_stores_nothing(home, folder) -> None:
    from workbench.settings import get_settings

    (folder / "p.csv").write_text(HEADER + "A,Ok,Acme,1.00,EUR,ftp://x.example.com,mug.png,food,,\n")
    with pytest.raises(InvalidInput, match="must be https"):
        import_products(folder / "p.csv")
    store = get_settings().store_dir
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*") if not p.name.startswith("."))


def test_a_catalog_over_the_row_limit_is_refused(folder, monkeypatch) -> None:
    from generators.ads import products

    monkeypatch.setattr(products, "MAX_PRODUCTS", 100)
    rows = "".join(f"S{n},P{n},Acme,1.00,EUR,https://shop.example.com/{n},mug.png,home,,\n" for n in range(101))
    (folder / "big.csv").write_text(HEADER + rows)
    report = read_catalog(folder / "big.csv")
    assert "more than 100 products; split the catalog" in report.problems
