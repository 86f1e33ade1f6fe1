"""The only bridge between Qt and the engine: a worker QObject on a QThread, one job at a time."""
