"""A tiny random-weight Stable Diffusion model in diffusers format, built locally and seeded.

For tests, benchmarks and smoke checks on machines with no model and no network: the same
architecture family as SD 1.5 (UNet, VAE, CLIP text encoder, tokenizer, DDIM scheduler) with a
few thousand times fewer weights. Its pictures are noise-like; its code path is the real one.
``sd15_config=True`` builds the full-size SD 1.5 architecture instead (random weights, ~1 B
parameters), for speed benchmarks: speed does not depend on weight values.
"""

from __future__ import annotations

import json
from pathlib import Path

TOKENS = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,!?'-")


def _tokenizer(dest: Path, vocab_size: int):
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in TOKENS:
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault(ch + "</w>", len(vocab))
    assert len(vocab) <= vocab_size
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "vocab.json").write_text(json.dumps(vocab))
    (dest / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(dest / "vocab.json"), str(dest / "merges.txt"), model_max_length=77, pad_token="<|endoftext|>")


def build_tiny_model(dest: Path, seed: int = 0, *, sd15_config: bool = False) -> Path:
    """Write a seeded random-weight pipeline to ``dest`` (a diffusers folder) and return it."""
    dest = Path(dest)
    pipe = build_pipeline(dest / ".tokenizer-src", seed, sd15_config=sd15_config)
    pipe.save_pretrained(dest)
    for f in (dest / ".tokenizer-src").iterdir():
        f.unlink()
    (dest / ".tokenizer-src").rmdir()
    return dest


def build_pipeline(scratch: Path, seed: int = 0, *, sd15_config: bool = False):
    """The seeded random-weight pipeline in memory (its tokenizer files are written to ``scratch``)."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    if sd15_config:
        unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768)  # the SD 1.5 defaults
        vae = AutoencoderKL(block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4,
                            up_block_types=["UpDecoderBlock2D"] * 4, latent_channels=4, layers_per_block=2, sample_size=512)
        text_config = CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_attention_heads=12,
                                     num_hidden_layers=12, vocab_size=49408, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    else:
        unet = UNet2DConditionModel(
            block_out_channels=(32, 64), layers_per_block=2, sample_size=32, in_channels=4, out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32,
        )
        vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                            down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                            latent_channels=4)
        text_config = CLIPTextConfig(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                                     vocab_size=1000, bos_token_id=0, eos_token_id=1, pad_token_id=1, layer_norm_eps=1e-5)
    text_encoder = CLIPTextModel(text_config)
    tokenizer = _tokenizer(Path(scratch), text_config.vocab_size)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    return StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
