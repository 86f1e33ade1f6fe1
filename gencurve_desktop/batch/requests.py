"""A batch item's typed request, made from its files and options as the single command's command line would read
them (the same types, choices and one-line errors), and the command (commands/) that runs it."""

from __future__ import annotations

from gencurve_desktop.batch.items import BatchItem
from gencurve_desktop.commands.curve import CurveFiles, run_curve
from gencurve_desktop.commands.edit import EditFiles, run_edit
from gencurve_desktop.commands.loading import ModelSource
from gencurve_desktop.commands.options import ITEM_OPTIONS, Option
from gencurve_desktop.commands.saliency import SaliencyFiles, run_saliency
from gencurve_desktop.commands.study import StudyItemRequest, run_study_item
from gencurve_desktop.engine.cancel import ProgressFn, no_progress
from gencurve_desktop.errors import BadInputError

#: item command -> (its request type, the command)
COMMANDS = {
    "curve": (CurveFiles, run_curve),
    "saliency": (SaliencyFiles, run_saliency),
    "edit": (EditFiles, run_edit),
    "study-saliency": (StudyItemRequest, run_study_item),
}
#: what an item command cannot run without, and the flag that names it
REQUIRED = {"edit": (("mask", "--mask"), ("task", "--task"))}


def _typed(option: Option, value: object, prog: str) -> object:
    """``value`` (a manifest cell's text, or the batch's own typed default) as the option's type."""
    try:
        typed = option.kind(str(value))
    except (TypeError, ValueError):
        name = getattr(option.kind, "__name__", repr(option.kind))
        raise BadInputError(f"{prog}: argument {option.flag}: invalid {name} value: {str(value)!r}") from None
    if option.choices is not None and typed not in option.choices:
        choices = ", ".join(map(repr, option.choices))
        raise BadInputError(f"{prog}: argument {option.flag}: invalid choice: {typed!r} (choose from {choices})")
    return typed


def item_values(item: BatchItem) -> dict:
    """The item's files and options, typed and checked, by request field name."""
    prog = f"gencurve {item.command}"
    values = dict(item.options)
    for option in ITEM_OPTIONS[item.command]:
        if option.form == "value" and values.get(option.name) is not None:
            values[option.name] = _typed(option, values[option.name], prog)
    values.update(item.inputs)  # image, mask, fixation
    if item.outputs:
        values["output"] = item.outputs[0]
    if item.command == "edit" and len(item.outputs) > 1:
        values["project"] = item.outputs[1]
    missing = [flag for name, flag in REQUIRED.get(item.command, ()) if values.get(name) is None]
    if missing:
        raise BadInputError(f"{prog}: the following arguments are required: {', '.join(missing)}")
    return values


def run_command(item: BatchItem, model: ModelSource, progress: ProgressFn = no_progress) -> dict:
    """Run the item's command on ``model``; its JSON result (raises the command's errors)."""
    request_type, command = COMMANDS[item.command]
    return command(request_type.from_options(item_values(item)), model, progress).to_json()
