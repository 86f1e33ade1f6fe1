#!/usr/bin/env bash
# Install GenCurve Desktop for the current user from this unpacked folder: `gencurve` and `gencurve-desktop`
# on PATH (links in ~/.local/bin) and an entry in the applications menu. Nothing is copied: run it again
# after moving the folder. `./install.sh --uninstall` removes the links and the menu entry.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${XDG_BIN_HOME:-$HOME/.local/bin}"
APPS="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
ENTRY="$APPS/gencurve-desktop.desktop"

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$BIN/gencurve" "$BIN/gencurve-desktop" "$ENTRY"
    echo "GenCurve Desktop links and menu entry removed (the folder $HERE is left as it is)"
    exit 0
fi
[ -x "$HERE/gencurve-desktop" ] || { echo "install.sh: run it inside the unpacked gencurve-desktop folder" >&2; exit 2; }

mkdir -p "$BIN" "$APPS"
ln -sfn "$HERE/gencurve" "$BIN/gencurve"
ln -sfn "$HERE/gencurve-desktop" "$BIN/gencurve-desktop"
cat > "$ENTRY" <<DESKTOP
[Desktop Entry]
Type=Application
Name=GenCurve Desktop
GenericName=Image Editor
Comment=Generation curves, diffusion saliency maps and curve-matching photo edits
Exec="$HERE/gencurve-desktop" %f
Icon=$HERE/_internal/resources/icons/gencurve.png
Terminal=false
Categories=Graphics;RasterGraphics;
MimeType=image/png;image/jpeg;image/webp;image/tiff;image/openraster;
DESKTOP
echo "installed: $BIN/gencurve, $BIN/gencurve-desktop and the menu entry $ENTRY"
case ":$PATH:" in *":$BIN:"*) ;; *) echo "note: add $BIN to your PATH to run gencurve from a terminal" ;; esac
