"""The options of each item command, declared once (DESIGN §5): the command line makes its flags of them, and a
batch reads a manifest row's cells through them. The image, mask and output files are not options: the command
line takes them as arguments and a batch sets them per item. No argparse here."""

from __future__ import annotations

from dataclasses import dataclass

from gencurve_desktop.engine.params import PARAMS, TASKS


@dataclass(frozen=True)
class Option:
    """One option: the request field it sets, its flag, its type, default, help and allowed values."""

    name: str  # the request field (and the parsed command line's attribute)
    flag: str
    kind: type | None = str  # int, float or str; None: a switch, true when given
    default: object = None
    help: str | None = None
    choices: tuple[str, ...] | None = None
    repeated: bool = False  # given once per value (--at X,Y --at X,Y), read as a tuple of texts
    metavar: str | None = None

    @property
    def form(self) -> str:
        """How a manifest row gives it: ``flag`` (true/false), ``list`` (several values) or ``value``."""
        return "flag" if self.kind is None else ("list" if self.repeated else "value")


CHANNEL = Option("channel", "--channel", int, help="one latent channel 0..3 instead of the mean of all four")
T_MIN = Option("t_min", "--t-min", int, 200, "fluctuation ignores t < T_MIN (default: 200)")
WINDOW = Option("window", "--window", int, 5, "fluctuation window in timesteps (default: 5)")

CURVE_OPTIONS = (
    Option("at", "--at", str, (), "an image pixel; repeatable", repeated=True, metavar="X,Y"),
    CHANNEL,
)
SALIENCY_OPTIONS = (
    Option("exact", "--exact", None, False, "the slow per-pixel reference (one JVP per pixel and step)"),
    CHANNEL,
    Option("probes", "--probes", int, 64, "random probes of the fast estimator (default: 64)"),
    T_MIN,
    WINDOW,
)
EDIT_OPTIONS = (
    Option("task", "--task", str, None, choices=TASKS),
    Option("ref", "--ref", str, None, "reference pixel X,Y, or 'auto' (remove: the calmest background pixel nearby)"),
    *(  # one declaration per parameter: engine/params.py
        Option(
            p.name,
            p.flag,
            p.kind,
            p.default,
            f"{p.help} (default: {'per task, see README' if p.default is None else p.default})",
            p.choices,
        )
        for p in PARAMS
    ),
)
STUDY_OPTIONS = (
    Option("seed", "--seed", int, 0, "seed of the pixel draws (default: 0)"),
    T_MIN,
    WINDOW,
    Option("probes", "--probes", int, 64, "probes of the dense map's estimator (default: 64)"),
    CHANNEL,
)
#: The options of every command a batch can run on each item.
ITEM_OPTIONS = {
    "curve": CURVE_OPTIONS,
    "saliency": SALIENCY_OPTIONS,
    "edit": EDIT_OPTIONS,
    "study-saliency": STUDY_OPTIONS,
}
