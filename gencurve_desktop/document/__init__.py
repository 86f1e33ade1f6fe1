"""The document layer: images, masks, layers and project files. Imports neither Qt nor torch."""
