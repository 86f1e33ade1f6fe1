"""The commands: one typed request in, one typed result out, for the command line, the batch runner and the
desktop's worker alike (DESIGN §5).

``curve``, ``saliency``, ``edit``, ``project info|export``, ``bench`` and the study's item each take their
request, the model (a :data:`~gencurve_desktop.commands.loading.ModelSource`, so that a request is checked before
any model loads), a progress callback and a cancel token, and raise the project's own errors
(:mod:`gencurve_desktop.errors`). The file-level commands (``run_*``) read and write files; the ``compute_*``
functions under them work on images in memory and are what the desktop calls.

Imports engine/ and document/; never Qt, never cli/ or batch/ (import-linter contracts in pyproject.toml).
"""
