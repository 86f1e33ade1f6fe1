"""``gencurve project info|export``: inspect and export OpenRaster projects (.ora)."""

from __future__ import annotations

import argparse

from gencurve_desktop.cli.options import Parser

HELP = "inspect or export an OpenRaster project (.ora)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``project``'s two subcommands and their options."""
    psub = p.add_subparsers(dest="project_command", required=True, parser_class=Parser)
    pi = psub.add_parser("info", help="size, layers and edits as JSON")
    pi.add_argument("file")
    pe = psub.add_parser("export", help="write the merged image (.png, .jpg, .webp, .tif)")
    pe.add_argument("file")
    pe.add_argument("-o", "--output", required=True)
    pe.add_argument("--mask", action="store_true", help="export the project's mask (PNG) instead")
    pe.add_argument("--alpha", action="store_true", help="keep transparency (PNG, WebP, TIFF) instead of white")
    pe.add_argument("--overwrite", action="store_true", help="allow -o to replace the project file itself")
    pe.add_argument("--quality", type=int, help="JPEG / WebP / AVIF / HEIC quality 1-100 (default 95; JPEG 4:4:4)")


def run(args: argparse.Namespace, progress) -> dict:
    """The project as JSON, or what ``export`` wrote."""
    from gencurve_desktop.commands.project import ProjectExportRequest, ProjectInfoRequest, project_export, project_info

    if args.project_command == "export":
        request = ProjectExportRequest(args.file, args.output, args.mask, args.alpha, args.overwrite, args.quality)
        return project_export(request).to_json()
    return project_info(ProjectInfoRequest(args.file)).to_json()
