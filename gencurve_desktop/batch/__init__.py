"""Batch runs over folders and manifests, on this machine or a Ray cluster (``gencurve batch``, ``gencurve study``).

Every item is one single-image command line (``curve``, ``saliency``, ``edit``) run with a model that is loaded
once per process, so a batch item validates, computes and writes exactly what the single command would.
No Qt here.
"""
