"""Diffusion treatments: outpaint, restyle and clean-up of keyframes, with a diffusers backend on
GPU workers and a classical fallback where no model is configured (see docs/diffusion.md)."""
