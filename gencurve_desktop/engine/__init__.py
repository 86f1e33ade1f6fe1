"""The engine: torch + diffusers, no Qt. Models, DDIM, generation curves, saliency, curve matching."""
