"""Command-line options come from config fields: ``flows.cli.options.option`` takes a field's default and ``help``
metadata, and the options of ``bon generate`` / ``bon train-prm`` say and default to what the config fields do."""

from __future__ import annotations

import dataclasses

import pytest


def _options(command: str) -> dict[str, object]:
    """The click options of ``bon COMMAND`` by parameter name."""
    import typer

    from flows.cli import app

    return {p.name: p for p in typer.main.get_command(app).commands[command].params}


def _help(config: type, name: str) -> str:
    return {f.name: f for f in dataclasses.fields(config)}[name].metadata["help"]


def test_option_takes_the_fields_default_and_help():
    from bon_core.types import GenerationConfig
    from flows.cli.options import option

    temperature = option(GenerationConfig, "temperature", "--temperature")
    assert (temperature.default, temperature.help) == (0.8, "Sampling temperature (0 = greedy).")
    assert temperature.param_decls == ("--temperature",)
    assert option(GenerationConfig, "max_new_tokens", default=96).default == 96  # a command's own default
    with pytest.raises(ValueError, match="GenerationConfig has no field 'temp'"):
        option(GenerationConfig, "temp")


def test_option_refuses_a_field_without_help_or_plain_default():
    from bon_core.prm import PRMTrainConfig
    from flows.cli.options import option

    with pytest.raises(ValueError, match=r"PRMTrainConfig.weight_decay has no help text"):
        option(PRMTrainConfig, "weight_decay")

    @dataclasses.dataclass(frozen=True)
    class Listed:
        items: list[str] = dataclasses.field(default_factory=list, metadata={"help": "Items."})

    with pytest.raises(ValueError, match="Listed.items has no plain default"):
        option(Listed, "items")
    assert option(Listed, "items", default=None).default is None


def test_bon_generate_options_say_what_the_generation_config_fields_do():
    from bon_core.types import GenerationConfig

    options = _options("generate")
    names = ("temperature", "top_p", "max_new_tokens", "seed", "batch_size")
    assert [options[name].help for name in names] == [_help(GenerationConfig, name) for name in names]
    defaults = {name: options[name].default for name in names}
    # the command samples shorter and in larger batches than the library's defaults
    assert defaults == {"temperature": 0.8, "top_p": 1.0, "max_new_tokens": 96, "seed": 0, "batch_size": 512}


def test_bon_train_prm_options_say_what_the_prm_config_fields_do():
    from bon_core.prm import HeadConfig, PRMSpec, PRMTrainConfig

    options = _options("train-prm")
    fields = {f.name: f for f in dataclasses.fields(PRMTrainConfig)}
    same = ("kind", "max_steps", "batch_size", "learning_rate", "eval_steps", "val_fraction", "freeze_layers",
            "lm_loss_weight", "group_by_length", "mask_after_first_error", "seed")  # fmt: skip
    for name in same:
        assert options[name].help == fields[name].metadata["help"], name
        if name != "group_by_length":  # the command batches by length by default (faster on CPU)
            assert options[name].default == fields[name].default, name
    assert options["group_by_length"].default is True
    assert (options["max_length"].help, options["max_length"].default) == (_help(PRMSpec, "max_length"), 1024)
    assert (options["head_inputs"].help, options["head_inputs"].default) == (_help(HeadConfig, "inputs"), "hidden")


def test_bon_starts_without_torch_although_train_prm_reads_the_prm_configs():
    import subprocess
    import sys

    code = "import sys, flows.cli.app; print('torch' in sys.modules, 'transformers' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == (
        "False False\n"
    )
