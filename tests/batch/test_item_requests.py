"""A batch item's typed request reads a row's text as the single command's command line does: the same types,
choices, required options and one-line errors, without argparse."""

from __future__ import annotations

import pytest

from gencurve_desktop.batch.items import BatchItem
from gencurve_desktop.batch.requests import item_values
from gencurve_desktop.cli.parser import build_parser
from gencurve_desktop.errors import BadInputError

FILES = ["i.png", "--mask", "m.png", "-o", "o.png"]


def edit_item(**options) -> BatchItem:
    return BatchItem("x", "edit", (), {"image": "i.png", "mask": "m.png"}, ("o.png",), options)


@pytest.mark.parametrize(
    "options, argv",
    [
        ({"task": "blend", "iterations": "x"}, ["--task", "blend", "--iterations", "x"]),
        ({"task": "zap"}, ["--task", "zap"]),
        ({"task": "blend", "lr": "fast"}, ["--task", "blend", "--lr", "fast"]),
        ({"task": "blend", "gradient": "sideways"}, ["--task", "blend", "--gradient", "sideways"]),
    ],
)
def test_a_bad_cell_fails_with_the_command_lines_own_message(options, argv):
    with pytest.raises(BadInputError) as from_the_command_line:
        build_parser().parse_args(["edit", *FILES, *argv])
    with pytest.raises(BadInputError) as from_the_row:
        item_values(edit_item(**options))
    assert str(from_the_row.value) == str(from_the_command_line.value)


def test_missing_mask_and_task_are_named_as_the_command_line_names_them():
    item = BatchItem("x", "edit", (), {"image": "i.png"}, ("o.png",), {"ref": "3,4"})
    with pytest.raises(BadInputError, match=r"^gencurve edit: the following arguments are required: --mask, --task$"):
        item_values(item)


def test_values_are_typed_and_the_files_named():
    values = item_values(edit_item(task="remove", iterations="7", lr=0.5, steps=6))
    assert values["iterations"] == 7 and values["lr"] == 0.5 and values["steps"] == 6
    assert (values["image"], values["mask"], values["output"]) == ("i.png", "m.png", "o.png")
    assert "project" not in values
