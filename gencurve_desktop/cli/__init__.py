"""The ``gencurve`` command line (contract: DESIGN §5): it parses, calls a command (commands/, or batch/ for
``batch`` and ``study``) and prints the JSON result. No Qt.

``entry`` is the console script (signals handled from its first line), ``main`` the program (exit codes, the one
line errors), ``parser`` the whole command line, ``options`` the shared flags; one module per command. This
file imports nothing, so that ``python -m gencurve_desktop.cli.entry`` reaches its first line at once.
"""
