"""provenance/: dev identity, signing JPEG/WebP/PNG, verification states, honest AI claims."""

from __future__ import annotations

import io
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from PIL import Image

from workbench.creative import EditAction, SourceFrame
from provenance import (
    COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
    TRAINED_ALGORITHMIC_MEDIA,
    TRAINING_MINING_USES,
    Ingredient,
    ManifestSpec,
    ensure_dev_identity,
    load_identity,
    sign_file,
    sign_with_settings,
    verify_file,
    verify_with_settings,
)
from workbench.errors import ProvenanceError
from workbench.settings import Settings

FORMATS = [("image/jpeg", "JPEG", "jpg"), ("image/webp", "WEBP", "webp"), ("image/png", "PNG", "png")]

RECIPE = {
    "generator": "thumbnails",
    "generator_version": "1.0",
    "parameters": {"segment": "action", "aspect": "16x9"},
    "source_sha256": "ab" * 32,
    # arrays of small ints and floats: c2pa's plain JSON view mangles these, crJSON does not
    "details": {"frame": 1234, "crop_box": [12, 8, 300, 170], "scores": [0.25, 0.5, 1.0]},
    "seed": 7,
    "model": None,
}


# -- fixtures ----------------------------------------------------------------------------------


def _picture(size: tuple[int, int] = (320, 180)) -> Image.Image:
    """A deterministic picture with real detail, so JPEG scan data is not trivially small."""
    w, h = size
    r = Image.linear_gradient("L").resize(size)
    g = Image.radial_gradient("L").resize(size)
    b = Image.linear_gradient("L").rotate(90).resize(size)
    img = Image.merge("RGB", (r, g, b))
    for x in range(0, w, 16):  # a few hard edges
        img.paste((255, 255, 255), (x, h // 3, x + 4, h // 3 + 20))
    return img


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def identity(tmp_path_factory):
    return ensure_dev_identity(tmp_path_factory.mktemp("home") / "keys")


@pytest.fixture
def parent() -> Ingredient:
    frame = SourceFrame(frame=1234, time=51.4, data=_png_bytes(_picture((160, 90))), mime="image/png")
    return Ingredient.from_source_frame(frame, "Big Buck Bunny", source_sha256="ab" * 32)


def _source(tmp_path: Path, fmt: str = "JPEG", ext: str = "jpg") -> Path:
    path = tmp_path / f"render.{ext}"
    _picture().save(path, fmt)
    return path


def _spec(
    parent: Ingredient | None, mime: str = "image/jpeg", actions: tuple[EditAction, ...] | None = None
) -> ManifestSpec:
    if actions is None:
        actions = (
            EditAction("c2pa.cropped", {"box": [12, 8, 300, 170]}, "smart crop to 16:9"),
            EditAction("c2pa.resized", {"width": 320, "height": 180}),
        )
    return ManifestSpec(title="thumb.out", mime=mime, actions=actions, parent=parent, recipe=RECIPE)


# -- certificates ------------------------------------------------------------------------------


def test_dev_identity_is_made_once_private_and_reused(tmp_path):
    keys = tmp_path / "home" / "keys"
    first = ensure_dev_identity(keys)

    key_file = keys / "dev-signer.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert sorted(p.name for p in keys.iterdir() if not p.name.startswith(".")) == [
        "dev-chain.pem",
        "dev-root.pem",
        "dev-signer.key",
    ]
    mtime = key_file.stat().st_mtime_ns

    second = ensure_dev_identity(keys)
    assert second == first
    assert key_file.stat().st_mtime_ns == mtime


def test_workers_starting_together_share_one_dev_identity(tmp_path):
    keys = tmp_path / "keys"
    with ThreadPoolExecutor(max_workers=4) as pool:
        identities = list(pool.map(lambda _: ensure_dev_identity(keys), range(8)))
    assert all(i == identities[0] for i in identities)
    assert ensure_dev_identity(keys) == identities[0]


def test_dev_chain_is_end_entity_then_root_with_c2pa_extensions(identity):
    leaf, root = x509.load_pem_x509_certificates(identity.chain_pem)
    assert identity.root_pem == root.public_bytes(serialization.Encoding.PEM)
    assert leaf.issuer == root.subject

    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert root.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign is True

    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    ku = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    root_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == root_ski
    assert leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert 700 <= (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days <= 740
    assert identity.alg == "es256"


def test_incomplete_dev_identity_is_refused(tmp_path):
    keys = tmp_path / "keys"
    ensure_dev_identity(keys)
    (keys / "dev-chain.pem").unlink()
    with pytest.raises(ProvenanceError, match="incomplete"):
        ensure_dev_identity(keys)


def test_load_identity_defaults_to_the_dev_identity(tmp_path):
    settings = Settings(home=tmp_path / "home")
    ident = load_identity(settings)
    assert (settings.keys_dir / "dev-root.pem").read_bytes() == ident.root_pem


def test_production_identity_with_a_missing_file_is_refused(tmp_path, identity):
    cert = tmp_path / "chain.pem"
    cert.write_bytes(identity.chain_pem)
    settings = Settings(home=tmp_path / "home", signing_cert=cert, signing_key=tmp_path / "missing.key")
    with pytest.raises(ProvenanceError, match="signing key .*not found: .*missing.key"):
        load_identity(settings)


def test_production_identity_needs_cert_and_key(tmp_path, identity):
    cert = tmp_path / "chain.pem"
    cert.write_bytes(identity.chain_pem)
    with pytest.raises(ProvenanceError, match="WORKBENCH_SIGNING_KEY"):
        load_identity(Settings(home=tmp_path / "home", signing_cert=cert))


def test_production_identity_rejects_garbage_and_mismatched_key(tmp_path, identity):
    cert, key = tmp_path / "chain.pem", tmp_path / "signer.key"
    cert.write_bytes(b"not a certificate")
    key.write_bytes(identity.key_pem)
    with pytest.raises(ProvenanceError, match="not a PEM certificate chain"):
        load_identity(Settings(home=tmp_path / "home", signing_cert=cert, signing_key=key))

    other = ensure_dev_identity(tmp_path / "other-keys")
    cert.write_bytes(other.chain_pem)
    with pytest.raises(ProvenanceError, match="does not match"):
        load_identity(Settings(home=tmp_path / "home", signing_cert=cert, signing_key=key))


def test_production_identity_signs_and_its_anchor_is_trusted(tmp_path, identity, parent):
    cert, key, roots = tmp_path / "chain.pem", tmp_path / "signer.key", tmp_path / "roots.pem"
    cert.write_bytes(identity.chain_pem)
    key.write_bytes(identity.key_pem)
    roots.write_bytes(identity.root_pem)
    settings = Settings(
        home=tmp_path / "home", signing_cert=cert, signing_key=key, trust_anchors=roots, signer_name="Acme Studio"
    )

    result = sign_with_settings(_source(tmp_path), tmp_path / "out.jpg", _spec(parent), settings)
    report = verify_with_settings(result.dst, settings)
    assert report.state == "Trusted"
    assert report.manifest.claim_generator.startswith("Acme Studio ")
    assert not (settings.keys_dir / "dev-root.pem").exists()  # production signing made no dev keys


# -- signing and verifying ---------------------------------------------------------------------


@pytest.mark.parametrize("mime,fmt,ext", FORMATS)
def test_sign_then_verify_each_image_format(tmp_path, identity, parent, mime, fmt, ext):
    src = _source(tmp_path, fmt, ext)
    dst = tmp_path / f"signed.{ext}"
    result = sign_file(src, dst, _spec(parent, mime), identity)

    assert result.dst == dst and dst.stat().st_size == result.size_bytes > src.stat().st_size
    assert result.manifest_label.startswith("urn:c2pa:")
    assert result.manifest_bytes > 0 and result.sign_ms > 0
    with Image.open(dst) as img:  # still a picture
        assert img.size == (320, 180)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left

    untrusted = verify_file(dst)
    assert untrusted.state == "Valid"
    assert "signingCredential.untrusted" in untrusted.codes
    assert untrusted.manifest.label == result.manifest_label

    trusted = verify_file(dst, identity.root_pem)
    assert trusted.state == "Trusted"
    assert trusted.codes == ()


def test_sign_then_verify_mp4(tmp_path, identity, parent):
    av = pytest.importorskip("av")
    import numpy as np

    src = tmp_path / "clip.mp4"
    with av.open(str(src), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())

    dst = tmp_path / "signed.mp4"
    sign_file(src, dst, _spec(parent, "video/mp4", (EditAction("c2pa.edited", {"cut": "15s"}),)), identity)
    report = verify_file(dst, identity.root_pem)
    assert report.state == "Trusted"
    assert [a.action for a in report.manifest.actions] == ["c2pa.opened", "c2pa.edited"]


def test_manifest_summary_tells_the_story(tmp_path, identity, parent):
    dst = tmp_path / "signed.jpg"
    sign_file(_source(tmp_path), dst, _spec(parent), identity)
    m = verify_file(dst, identity.root_pem).manifest

    assert m.title == "thumb.out"
    assert m.claim_generator.startswith("Creative Workbench ")
    assert m.signer == "Creative Workbench Development Signer"
    assert m.issuer == "Creative Workbench (development)"
    assert m.signed_at is None  # no timestamp authority

    assert [a.action for a in m.actions] == ["c2pa.opened", "c2pa.cropped", "c2pa.resized"]
    opened, cropped, resized = m.actions
    assert opened.ingredients == ("Big Buck Bunny — frame 1234",)
    assert cropped.parameters == {"box": [12, 8, 300, 170]} and cropped.description == "smart crop to 16:9"
    assert resized.parameters == {"width": 320, "height": 180}

    (ing,) = m.ingredients
    assert (ing.title, ing.mime, ing.relationship) == ("Big Buck Bunny — frame 1234", "image/png", "parentOf")
    assert ing.metadata["com.creativeworkbench.frame"] == 1234

    assert m.recipe == RECIPE
    assert m.training_mining == {use: "notAllowed" for use in TRAINING_MINING_USES}


def test_no_ai_claim_when_only_classical_processing_ran(tmp_path, identity, parent):
    dst = tmp_path / "signed.jpg"
    sign_file(_source(tmp_path), dst, _spec(parent), identity)
    m = verify_file(dst).manifest
    assert m.digital_source_types == ()
    assert "digitalsourcetype" not in dst.read_bytes().decode("latin-1").lower()


def test_ai_claim_only_on_the_action_that_carries_it(tmp_path, identity, parent):
    actions = (
        EditAction("c2pa.resized", {"width": 320, "height": 180}),
        EditAction("c2pa.edited", {"model": "tiny-sd"}, "img2img restyle", TRAINED_ALGORITHMIC_MEDIA),
        EditAction("c2pa.composited", digital_source_type=COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA),
    )
    dst = tmp_path / "signed.png"
    sign_file(_source(tmp_path, "PNG", "png"), dst, _spec(parent, "image/png", actions), identity)
    m = verify_file(dst, identity.root_pem).manifest
    assert [(a.action, a.digital_source_type) for a in m.actions] == [
        ("c2pa.opened", None),
        ("c2pa.resized", None),
        ("c2pa.edited", TRAINED_ALGORITHMIC_MEDIA),
        ("c2pa.composited", COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA),
    ]


def test_created_without_parent_and_placed_component(tmp_path, identity):
    logo = Ingredient("brand logo", "image/png", _png_bytes(_picture((32, 32))), relationship="componentOf")
    actions = (EditAction("c2pa.created", digital_source_type=TRAINED_ALGORITHMIC_MEDIA),)
    spec = ManifestSpec(
        title="bg.jpg", mime="image/jpeg", actions=actions, parent=None, recipe=RECIPE, components=(logo,)
    )
    dst = tmp_path / "bg.jpg"
    sign_file(_source(tmp_path), dst, spec, identity)
    report = verify_file(dst, identity.root_pem)
    assert report.state == "Trusted"
    assert [(a.action, a.ingredients) for a in report.manifest.actions] == [
        ("c2pa.created", ()),
        ("c2pa.placed", ("brand logo",)),
    ]
    assert [(i.title, i.relationship) for i in report.manifest.ingredients] == [("brand logo", "componentOf")]


def test_signing_replaces_an_existing_file(tmp_path, identity, parent):
    dst = tmp_path / "signed.jpg"
    dst.write_bytes(b"old version")
    sign_file(_source(tmp_path), dst, _spec(parent), identity)
    assert verify_file(dst).state == "Valid"


def test_verify_with_settings_trusts_the_dev_root(tmp_path, parent):
    settings = Settings(home=tmp_path / "home")
    dst = tmp_path / "signed.webp"
    sign_with_settings(_source(tmp_path, "WEBP", "webp"), dst, _spec(parent, "image/webp"), settings)
    assert verify_with_settings(dst, settings).state == "Trusted"


# -- tampering and bad files -------------------------------------------------------------------


def test_one_changed_byte_in_the_jpeg_scan_data_is_invalid(tmp_path, identity, parent):
    dst = tmp_path / "signed.jpg"
    sign_file(_source(tmp_path), dst, _spec(parent), identity)
    data = bytearray(dst.read_bytes())

    # the middle of the entropy-coded scan, away from markers and byte stuffing
    sos, eoi = data.rfind(b"\xff\xda"), data.rfind(b"\xff\xd9")
    i = (sos + eoi) // 2
    while 0xFF in (data[i - 1], data[i], data[i] ^ 0x01, data[i + 1]):
        i += 1
    data[i] ^= 0x01
    dst.write_bytes(bytes(data))

    report = verify_file(dst, identity.root_pem)
    assert report.state == "Invalid"
    assert "assertion.dataHash.mismatch" in report.codes


def test_unsigned_file(tmp_path):
    assert verify_file(_source(tmp_path)).state == "Unsigned"


def test_corrupt_signed_file_is_invalid(tmp_path, identity, parent):
    dst = tmp_path / "signed.jpg"
    sign_file(_source(tmp_path), dst, _spec(parent), identity)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(dst.read_bytes()[:2000])  # cut inside the manifest
    report = verify_file(truncated)
    assert report.state == "Invalid"
    assert report.codes == ("general.error",) and report.detail


def test_verify_missing_file(tmp_path):
    with pytest.raises(ProvenanceError, match="not found"):
        verify_file(tmp_path / "nope.jpg")


def test_sign_a_file_that_is_not_an_image(tmp_path, identity, parent):
    src = tmp_path / "notes.jpg"
    src.write_text("this is a text file, not a picture\n")
    dst = tmp_path / "out" / "signed.jpg"
    dst.parent.mkdir()
    with pytest.raises(ProvenanceError, match=r"notes\.jpg is not a JPEG file"):
        sign_file(src, dst, _spec(parent), identity)
    assert list(dst.parent.iterdir()) == []


def test_c2pa_failure_leaves_no_partial_file(tmp_path, identity, parent):
    src = tmp_path / "broken.jpg"
    src.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)  # JPEG magic, nothing behind it
    dst = tmp_path / "out" / "signed.jpg"
    dst.parent.mkdir()
    with pytest.raises(ProvenanceError, match=r"could not sign broken\.jpg as JPEG"):
        sign_file(src, dst, _spec(parent), identity)
    assert list(dst.parent.iterdir()) == []


@pytest.mark.parametrize(
    "actions,parent_given,message",
    [
        ((EditAction("c2pa.opened"),), True, "must not include c2pa.opened"),
        ((EditAction("c2pa.edited", digital_source_type="trainedAlgorithmicMedia"),), True, "IPTC term"),
        ((EditAction("c2pa.edited"),), False, "first action must be c2pa.created"),
        ((EditAction("c2pa.created"),), False, "first action must be c2pa.created with a digital_source_type"),
    ],
)
def test_bad_specs_fail_before_signing(tmp_path, identity, parent, actions, parent_given, message):
    dst = tmp_path / "signed.jpg"
    with pytest.raises(ProvenanceError, match=message):
        sign_file(_source(tmp_path), dst, _spec(parent if parent_given else None, actions=actions), identity)
    assert not dst.exists()


def test_recipe_must_be_plain_json(tmp_path, identity, parent):
    spec = ManifestSpec(title="x.jpg", mime="image/jpeg", actions=(), parent=parent, recipe={"path": Path("/x")})
    with pytest.raises(ProvenanceError, match="recipe is not plain JSON"):
        sign_file(_source(tmp_path), tmp_path / "signed.jpg", spec, identity)


def test_declared_mime_must_match_the_file(tmp_path, identity, parent):
    with pytest.raises(ProvenanceError, match="is not a WebP file"):
        sign_file(_source(tmp_path), tmp_path / "signed.webp", _spec(parent, "image/webp"), identity)
