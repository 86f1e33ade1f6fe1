"""GenCurve Desktop: generation curves, saliency maps and curve-matching edits for Stable Diffusion."""

__version__ = "0.1.0"
