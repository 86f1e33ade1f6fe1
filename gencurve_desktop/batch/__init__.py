"""Batch runs over folders and manifests, on this machine or a Ray cluster (``gencurve batch``, ``gencurve study``).

Every item is one single-image command (commands/): its typed request is made from the item's row as the single
command's command line would read it, and it runs on a model loaded once per process, so a batch item validates,
computes and writes exactly what the single command would. No Qt, and nothing from cli/.
"""
