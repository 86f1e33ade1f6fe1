"""Shared fixtures: the demo model, a tiny SD folder written by save_pretrained, small test images."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # One torch thread per test process (and per child it starts): with `-n 2` on 2 cores, two processes of two
    # OpenMP threads each wait on descheduled threads at every parallel region (measured: a 1 s desktop edit took
    # 80 s beside one busy process).
    os.environ["OMP_NUM_THREADS"] = "1"
# the desktop's settings and recovery files go to a private folder for the test session
_PRIVATE = __import__("tempfile").mkdtemp(prefix="gencurve-tests-")
os.environ["GENCURVE_SETTINGS_DIR"] = os.path.join(_PRIVATE, "settings")
os.environ["GENCURVE_RECOVERY_DIR"] = os.path.join(_PRIVATE, "recovery")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from gencurve_desktop.paths import resources_dir, sample_image  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_window_state():
    """Each test starts with the default window layout and Edit dock values (the window remembers them)."""
    from gencurve_desktop.settings import SettingsStore, settings_path

    if os.path.exists(settings_path()):
        settings = SettingsStore()
        with settings.batch():
            for group in ("window", "edit"):
                settings.remove(group)
    yield


@pytest.fixture(scope="session")
def demo_model():
    from gencurve_desktop.engine.models import load_model

    return load_model("demo", device="cpu")


@pytest.fixture(scope="session")
def sample_rgb():
    """A 128 x 128 crop of the bundled sample (fast to invert on CPU)."""
    from gencurve_desktop.document.images import load_rgb

    return np.ascontiguousarray(load_rgb(sample_image())[64:192, 192:320])


@pytest.fixture
def small_png(tmp_path, sample_rgb):
    path = tmp_path / "small.png"
    Image.fromarray(sample_rgb).save(path)
    return path


def _save_tiny_pipeline(folder, seed, prediction_type="epsilon"):
    from diffusers import StableDiffusionPipeline

    from gencurve_desktop.engine.models import build_from_config

    parts = build_from_config(resources_dir() / "models" / "demo", seed=seed)
    parts["scheduler"] = parts["scheduler"].__class__.from_config(
        parts["scheduler"].config, prediction_type=prediction_type
    )
    pipe = StableDiffusionPipeline(**parts, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="session")
def tiny_sd_folder(tmp_path_factory):
    """A diffusers folder of a tiny SD pipeline (U-Net, VAE, text encoder, tokenizer, scheduler)."""
    return _save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd"), seed=7)


@pytest.fixture(scope="session")
def tiny_sd_vpred_folder(tmp_path_factory):
    """The same, configured for v-prediction."""
    return _save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd-v"), seed=8, prediction_type="v_prediction")
