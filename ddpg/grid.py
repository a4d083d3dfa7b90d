"""`ddpg sweep --grid FIELD=V1,V2`: the axes of a grid, its points, their configs and the names of their runs.

An axis is any DDPGConfig field but the seed (`--seeds` varies that), or `preset`. Its values are
read as that field's flag reads them (`400-300` for layer sizes, `none` for none), and every point's
config is checked before anything runs. A point is named by its values, in the order of the axes, as
a person would write them (`actor_lr=0.0003,tau=0.005`): the directory of its runs.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

from ddpg.config import BUDGET_FIELDS, DDPGConfig
from ddpg.errors import UserInputError
from ddpg.presets import check_preset

FIELDS = {field.name: field for field in dataclasses.fields(DDPGConfig) if field.name != "seed"}
Point = dict[str, Any]


def parse_grid(specs: list[str]) -> list[tuple[str, list]]:
    """Each `FIELD=V1,V2,...` as (field, values), in the order given."""
    axes: list[tuple[str, list]] = []
    for spec in specs:
        name, _, text = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not name or not text:
            raise UserInputError(f"Expected --grid FIELD=V1,V2,... Received: --grid {spec}")
        if name == "seed":
            raise UserInputError("Expected the seeds in --seeds, which gives each grid point its runs. "
                                 f"Received: --grid {spec}")
        if name not in FIELDS and name != "preset":
            raise UserInputError(f"Expected a DDPGConfig field, preset or env_id. Received: --grid {name}")
        if name in (axis for axis, _ in axes):
            raise UserInputError(f"Expected each field in one --grid. Received: {name} twice")
        values = [_parse_value(name, part.strip(), spec) for part in text.split(",")]
        if len(set(values)) != len(values):
            raise UserInputError(f"Expected distinct values for {name}. Received: --grid {spec}")
        axes.append((name, values))
    return axes


def _parse_value(name: str, text: str, spec: str) -> Any:
    if name == "preset":
        try:
            check_preset(text, received=f"--grid {spec}")
        except ValueError as error:
            raise UserInputError(str(error)) from None
        return text
    field = FIELDS[name]
    if text.lower() == "none" and (field.default is None or getattr(field.metadata["check"], "may_be_empty", False)):
        return () if isinstance(field.default, tuple) else None
    if isinstance(field.default, tuple):
        try:
            return tuple(int(size) for size in text.split("-"))
        except ValueError:
            raise UserInputError(f"Expected layer sizes like 400-300 for {name}. Received: --grid {spec}") from None
    kind = field.metadata["kind"]
    if kind is bool:  # bool("false") is True
        if text.lower() not in ("true", "false"):
            raise UserInputError(f"Expected true or false for {name}. Received: --grid {spec}")
        return text.lower() == "true"
    try:
        return kind(text)
    except ValueError:
        raise UserInputError(f"Expected {kind.__name__} values for {name}. Received: --grid {spec}") from None


def expand(axes: list[tuple[str, list]]) -> list[Point]:
    """Every combination of the axes' values, the first axis varying slowest; [{}] for no axes."""
    names = [name for name, _ in axes]
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(values for _, values in axes))]


def point_name(point: Point) -> str:
    """`field=value,...` in the point's order; the empty string for the one point of no grid."""
    return ",".join(f"{name}={format_value(value)}" for name, value in point.items())


def format_value(value: Any) -> str:
    if value is None or value == ():
        return "none"
    if isinstance(value, tuple):
        return "-".join(map(str, value))
    return str(value).replace("/", "_")  # a namespaced env id stays one directory


def point_configs(points: list[Point], seeds: list[int],
                  values_for: Callable[[str | None], dict]) -> list[tuple[Point, DDPGConfig]]:
    """(point, config) for each point and seed, points first. `values_for(preset)` gives the config's
    fields below the grid: the point's preset (None: the command's), a config file and the flags. A
    budget in the grid replaces the budget below it."""
    configs = []
    for point in points:
        values = values_for(point.get("preset"))
        if any(name in point for name in BUDGET_FIELDS):
            values = {name: value for name, value in values.items() if name not in BUDGET_FIELDS}
        fields = {name: value for name, value in point.items() if name != "preset"}
        for seed in seeds:
            try:
                configs.append((point, DDPGConfig(**{**values, **fields, "seed": seed})))
            except ValueError as error:
                where = f" (grid point {point_name(point)})" if point else ""
                raise UserInputError(f"{error}{where}") from None
    return configs
