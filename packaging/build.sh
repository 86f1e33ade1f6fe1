#!/usr/bin/env bash
# Build GenCurve Desktop as one folder (dist/gencurve-desktop/ with the gencurve-desktop and gencurve
# executables), pack it into an archive and smoke-test the frozen result. Works from a clean clone.
#
#   packaging/build.sh                 # CPU flavour (torch==2.13.0 from the usual index)
#   GENCURVE_TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 packaging/build.sh   # CUDA 12.8 flavour
#
# Environment:
#   PYTHON                    the Python (>= 3.11) that creates the build environment (default: python3)
#   GENCURVE_TORCH            the torch requirement to freeze (default: torch==2.13.0)
#   GENCURVE_TORCH_INDEX_URL  the index torch comes from, e.g. https://download.pytorch.org/whl/cu128 (CUDA)
#                             or .../whl/cpu (PyPI's Linux torch is a CUDA build; here a local CPU wheel is used)
#   GENCURVE_SKIP_SMOKE=1     build and pack only
# On Windows run it from Git Bash; it then writes a .zip, and packaging/windows/gencurve-desktop.iss turns
# dist/gencurve-desktop/ into an installer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="build/pkg-venv"
TORCH="${GENCURVE_TORCH:-torch==2.13.0}"

step() { printf '\n== %s\n' "$*"; }

# 1. a private build environment: the app, its pinned torch, PyInstaller and its contributed hooks
step "build environment ($VENV)"
[ -d "$VENV" ] || "$PYTHON" -m venv "$VENV"
if [ -x "$VENV/bin/python" ]; then VPY="$VENV/bin/python"; else VPY="$VENV/Scripts/python.exe"; fi
TORCH_ARGS=()
if [ -n "${GENCURVE_TORCH_INDEX_URL:-}" ]; then TORCH_ARGS=(--index-url "$GENCURVE_TORCH_INDEX_URL"); fi
"$VPY" -m pip install --quiet "${TORCH_ARGS[@]}" "$TORCH"  # first, so that `.` finds its torch satisfied
"$VPY" -m pip install --quiet "pyinstaller>=6.10,<7" "pyinstaller-hooks-contrib>=2024.8" .
read -r VERSION FLAVOUR PLATFORM < <("$VPY" - <<'EOF'
import platform, sys, torch, gencurve_desktop
flavour = f"cu{torch.version.cuda.replace('.', '')}" if torch.version.cuda else "cpu"
system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
print(gencurve_desktop.__version__, flavour, f"{system}-{platform.machine().lower()}")
EOF
)
echo "gencurve-desktop $VERSION, torch flavour $FLAVOUR, $PLATFORM"

# 2. freeze: one folder, two executables, resources/ inside, no model weights
step "PyInstaller"
rm -rf dist/gencurve-desktop
"$VPY" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
    packaging/gencurve.spec
case "$PLATFORM" in linux-*) cp packaging/linux/install.sh dist/gencurve-desktop/ ;; esac

# 3. the archive users download
step "archive"
NAME="gencurve-desktop-$VERSION-$PLATFORM-$FLAVOUR"
ARCHIVE="$("$VPY" - "$NAME" <<'EOF'
import shutil, sys
fmt = "zip" if sys.platform == "win32" else "gztar"
print(shutil.make_archive(f"dist/{sys.argv[1]}", fmt, root_dir="dist", base_dir="gencurve-desktop"))
EOF
)"
echo "$ARCHIVE"

# 4. smoke test of the frozen build (offscreen self-test, CLI curve on the bundled sample)
if [ "${GENCURVE_SKIP_SMOKE:-0}" != "1" ]; then
    step "smoke test"
    "$VPY" packaging/smoke_test.py dist/gencurve-desktop --archive "$ARCHIVE"
fi
