"""The action table: every QAction of the main window (object names are the automation contract), its menus
and its tool bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence

# name, text, shortcut, slot (a method name of the window, or a "session." / "jobs." path), checkable, tip
ACTIONS = [
    ("actionNewFromClipboard", "&New from Clipboard", QKeySequence.New, "tools.new_from_clipboard", False, None),
    ("actionOpen", "&Open…", QKeySequence.Open, "session.open_dialog", False, None),
    ("actionClose", "&Close", QKeySequence.Close, "tools.close_document", False, None),
    ("actionSave", "&Save", QKeySequence.Save, "session.save", False, None),
    ("actionSaveAs", "Save &As…", QKeySequence.SaveAs, "session.save_as", False, None),
    ("actionExport", "&Export Image…", "Ctrl+E", "session.export_image", False, None),
    ("actionExportMask", "Export &Mask…", None, "session.export_mask", False, None),
    ("actionQuit", "&Quit", QKeySequence.Quit, "close", False, None),
    ("actionBrush", "&Brush", "B", "tool_brush", True, "Paint the mask"),
    ("actionEraser", "&Eraser", "E", "tool_eraser", True, "Erase the mask"),
    ("actionReference", "&Reference", "R", "tool_reference", True, "Click the reference pixel"),
    ("actionProbe", "Curve &Probe", "P", "tool_probe", True, "Click any pixel to plot its generation curve"),
    ("actionMove", "&Move Layer", "T", "tool_move", True, "Drag the selected layer (Krita's T)"),
    ("actionPasteLayer", "&Paste as New Layer", QKeySequence.Paste, "moves.paste_as_layer", False, None),
    ("actionScaleLayer", "&Scale Layer…", "Ctrl+T", "moves.scale_layer", False, "Scale the selected layer"),
    ("actionMaskFromLayer", "Mask from &Layer", None, "moves.mask_from_layer", False, "Mask the layer's opaque pixels"),
    ("actionClearMask", "&Clear Mask", "Ctrl+Shift+A", "clear_mask", False, None),
    ("actionInvertMask", "&Invert Mask", "Ctrl+I", "invert_mask", False, None),
    ("actionImportMask", "I&mport Mask…", None, "tools.import_mask", False, "Use a black-and-white image as the mask"),
    ("actionClearReference", "Clear &Reference Point", "Ctrl+Shift+R", "tools.clear_reference", False, None),
    ("actionShowMask", "Show &Mask Overlay", "Ctrl+H", "tools.toggle_mask", True, "Show or hide the red mask"),
    ("actionExportSaliency", "Export Saliency Map…", None, "tools.export_saliency", False, None),
    ("actionShortcuts", "&Keyboard Shortcuts", "F1", "show_shortcuts", False, None),
    ("actionAbout", "&About GenCurve Desktop", None, "show_about", False, None),
    ("actionRun", "Run", "Ctrl+Return", "run_edit", False, "Run the edit (Ctrl+Enter)"),
    ("actionCancel", "Cancel", "Escape", "jobs.cancel", False, "Cancel the job (Esc)"),
    ("actionSaliencyMap", "&Saliency Map", "M", "toggle_saliency", True, "Show the curve-fluctuation saliency map"),
    ("actionCompare", "Compare with &Original", "\\", "refresh", True, "Split view: original | result (drag the line)"),
    ("actionZoomIn", "Zoom &In", (QKeySequence.ZoomIn, "Ctrl+=", "+", "="), "canvas.zoom_in", False, None),
    ("actionZoomOut", "Zoom &Out", (QKeySequence.ZoomOut, "-"), "canvas.zoom_out", False, None),
    ("actionZoomFit", "Zoom to &Fit", "Ctrl+0", "canvas.zoom_fit", False, None),
    ("actionZoom100", "Zoom &100 %", "Ctrl+1", "canvas.zoom_100", False, None),
    ("actionLayerProperties", "Layer &Properties…", "F3", "layer_properties", False, "The edit layer's provenance"),
    ("actionSettings", "Model &Settings…", None, "model_setup.settings_dialog", False, None),
    ("actionExportPlot", "Export Plot as PNG…", None, "tools.export_plot", False, None),
    ("actionExportCsv", "Export Curves as CSV…", None, "tools.export_csv", False, None),
    ("actionClearProbes", "Clear Probe Curves", None, "curve_dock.clear_probes", False, None),
]

#: Actions that need a document (disabled in an empty window)
DOC_ACTIONS = tuple(
    "actionClose actionImportMask actionClearReference actionShowMask actionExportSaliency actionSave actionSaveAs"
    " actionExport actionExportMask actionRun actionClearMask actionInvertMask actionSaliencyMap actionCompare"
    " actionScaleLayer actionMaskFromLayer".split()
)

#: Redo takes the platform's keys and Ctrl+Y (Krita, GIMP and Windows users all reach for it)
UNDO_REDO_KEYS = {"actionUndo": QKeySequence.Undo, "actionRedo": (QKeySequence.Redo, "Ctrl+Y")}

MENUS = {
    "&File": [
        "actionNewFromClipboard",
        "actionOpen",
        "@recent",
        "actionSave",
        "actionSaveAs",
        "actionExport",
        "actionExportMask",
        "actionExportSaliency",
        "actionClose",
        None,
        "actionSettings",
        None,
        "actionQuit",
    ],
    "&Edit": [
        "actionUndo",
        "actionRedo",
        None,
        "actionPasteLayer",
        "actionScaleLayer",
        "actionMaskFromLayer",
        None,
        "actionClearMask",
        "actionInvertMask",
        "actionImportMask",
        "actionClearReference",
        None,
        "actionLayerProperties",
    ],
    "&Tools": ["actionBrush", "actionEraser", "actionReference", "actionProbe", "actionMove"],
    "&View": [
        "actionZoomIn",
        "actionZoomOut",
        "actionZoomFit",
        "actionZoom100",
        "actionShowMask",
        "actionSaliencyMap",
        "actionCompare",
        None,
        "@docks",
    ],
    "&Run": ["actionRun", "actionCancel"],
    "&Curves": ["actionExportPlot", "actionExportCsv", "actionClearProbes"],
    "&Help": ["actionShortcuts", "actionAbout"],
}
TOOLBAR = [
    "actionOpen",
    "actionSave",
    None,
    "actionBrush",
    "actionEraser",
    "actionReference",
    "actionProbe",
    "actionMove",
    None,
    "actionRun",
    "actionCancel",
    None,
    "actionSaliencyMap",
    "actionCompare",
]


def _resolve(window, path: str):
    target = window
    for part in path.split("."):
        target = getattr(target, part)
    return target


def key_sequences(shortcut) -> list[QKeySequence]:
    """Every key sequence of an action's shortcut: a string, a standard key (all the platform's bindings), or a
    tuple of those; duplicates dropped, in order."""
    found: list[QKeySequence] = []
    for item in shortcut if isinstance(shortcut, tuple) else (shortcut,):
        keys = QKeySequence.keyBindings(item) if isinstance(item, QKeySequence.StandardKey) else [QKeySequence(item)]
        found += [k for k in keys if not k.isEmpty() and k not in found]
    return found


def make_actions(window) -> None:
    """Create every action as ``window.<objectName>``, plus undo/redo from the session's stack."""
    for name, text, shortcut, slot, checkable, tip in ACTIONS:
        a = QAction(text, window)
        a.setObjectName(name)
        if shortcut:
            a.setShortcuts(key_sequences(shortcut))
        a.setCheckable(checkable)
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        a.triggered.connect(lambda _=False, s=slot: _resolve(window, s)())
        window.addAction(a)
        setattr(window, name, a)
    for name, text, key, make in (
        ("actionUndo", "&Undo", UNDO_REDO_KEYS["actionUndo"], window.undo.createUndoAction),
        ("actionRedo", "&Redo", UNDO_REDO_KEYS["actionRedo"], window.undo.createRedoAction),
    ):
        a = make(window, text)
        a.setObjectName(name)
        a.setShortcuts(key_sequences(key))
        window.addAction(a)
        setattr(window, name, a)
    window.actionCancel.setEnabled(False)
    window.actionBrush.setChecked(True)
    window.actionShowMask.setChecked(True)


def make_menus(window) -> None:
    """The menu bar and the tool bar from the tables above; ``window.recent_menu`` is filled by the window."""
    bar = window.menuBar()
    for title, items in MENUS.items():
        menu = bar.addMenu(title)
        for item in items:
            if item is None:
                menu.addSeparator()
            elif item == "@recent":
                window.recent_menu = menu.addMenu("Open &Recent")
            elif item == "@docks":
                for dock in (window.curve_dock, window.task_dock, window.layers_dock, window.history_dock):
                    menu.addAction(dock.toggleViewAction())
            else:
                menu.addAction(getattr(window, item))
    tools = window.addToolBar("Tools")
    tools.setObjectName("toolsToolBar")
    for item in TOOLBAR:
        tools.addSeparator() if item is None else tools.addAction(getattr(window, item))


def fill_recent(window, files: list[str]) -> None:
    """The Open Recent menu; opening asks about unsaved changes first."""
    window.recent_menu.clear()
    for p in files:
        window.recent_menu.addAction(Path(p).name, lambda p=p: window.session.request_open(p)).setToolTip(p)
    window.recent_menu.setEnabled(bool(files))
