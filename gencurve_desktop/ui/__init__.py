"""The desktop UI (PySide6 + pyqtgraph). Talks to the engine only through workers/."""
