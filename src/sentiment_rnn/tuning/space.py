"""What a study searches: settings named as everywhere else (`model.hidden_size`), each a range or a
choice, read from a TOML file and checked against the settings' own types and bounds (config.py)
before any trial runs.

    [model]
    hidden_size = {low = 32, high = 256, log = true}   # an int setting: whole numbers
    cell = ["lstm", "gru"]                             # a choice
    [training]
    learning_rate = {low = 1e-4, high = 1e-2, log = true}
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import SECTIONS, ExperimentConfig
from ..errors import ConfigError

DEFAULT_SPACE = "default_space.toml"
RANGE_KEYS = {"low", "high", "log", "step"}


@dataclass(frozen=True)
class Dimension:
    setting: str  # "model.hidden_size"
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    integer: bool = False

    def suggest(self, trial) -> Any:
        if self.choices is not None:
            return trial.suggest_categorical(self.setting, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.setting, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.setting, self.low, self.high, step=self.step, log=self.log)

    def describe(self) -> str:
        if self.choices is not None:
            return f"{self.setting} in {list(self.choices)}"
        return f"{self.setting} from {self.low:g} to {self.high:g}{' (log)' if self.log else ''}"


@dataclass(frozen=True)
class SearchSpace:
    dimensions: tuple[Dimension, ...]
    source: str

    @classmethod
    def load(cls, path: str | Path | None = None) -> SearchSpace:
        """The space in `path`, or the shipped default one."""
        if path is None:
            text, source = resources.files(__package__).joinpath(DEFAULT_SPACE).read_text(encoding="utf-8"), "default"
        else:
            source = str(path)
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"search space {path} cannot be read ({exc.strerror or exc})") from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: invalid TOML: {exc}") from None
        return cls(tuple(_dimensions(raw, source)), source)

    def base_values(self, config: ExperimentConfig) -> dict[str, Any]:
        """The searched settings' values in `config`, for those the space holds."""
        values = {}
        for d in self.dimensions:
            section, name = d.setting.split(".")
            value = getattr(getattr(config, section), name)
            inside = value in d.choices if d.choices is not None else (
                isinstance(value, (int, float)) and not isinstance(value, bool) and d.low <= value <= d.high)
            if inside:
                values[d.setting] = value
        return values

    def suggest(self, trial) -> list[str]:
        """The trial's settings as `--set` items."""
        import json

        return [f"{d.setting}={json.dumps(d.suggest(trial))}" for d in self.dimensions]


def _dimensions(raw: dict[str, Any], source: str):
    if not raw:
        raise ConfigError(f"{source}: the search space is empty: name at least one setting, e.g. "
                          f"[model] hidden_size = {{low = 32, high = 256, log = true}}")
    for section, values in raw.items():
        if section not in SECTIONS or not isinstance(values, dict):
            raise ConfigError(f"{source}: [{section}] is not a settings section; known: {', '.join(SECTIONS)}")
        fields = {f.name for f in dataclasses.fields(SECTIONS[section])}
        hints = typing.get_type_hints(SECTIONS[section])
        for name, spec in values.items():
            setting = f"{section}.{name}"
            if name not in fields:
                raise ConfigError(f"{source}: unknown setting {setting}; known in [{section}]: {sorted(fields)}")
            dimension = _dimension(setting, spec, hints[name], source)
            _check_values(dimension, source)
            yield dimension


def _dimension(setting: str, spec: Any, hint: Any, source: str) -> Dimension:
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{source}: {setting} = []: a choice needs at least one value")
        return Dimension(setting, choices=tuple(spec))
    if not isinstance(spec, dict) or not {"low", "high"} <= spec.keys() or spec.keys() - RANGE_KEYS:
        raise ConfigError(f"{source}: {setting} must be a list of choices or a range {{low = ..., high = ...[, log = "
                          f"true][, step = ...]}}, got {spec!r}")
    low, high = spec["low"], spec["high"]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) or low >= high:
        raise ConfigError(f"{source}: {setting}: low and high must be numbers with low < high, got {low!r}, {high!r}")
    if spec.get("log") and low <= 0:
        raise ConfigError(f"{source}: {setting}: a log range needs low > 0, got {low!r}")
    options = typing.get_args(hint) or (hint,)
    integer = int in options and float not in options
    if not integer and float not in options:
        raise ConfigError(f"{source}: {setting} is not a number setting: give a list of choices")
    return Dimension(setting, low=low, high=high, log=bool(spec.get("log")), step=spec.get("step"), integer=integer)


def _check_values(dimension: Dimension, source: str) -> None:
    """Every choice, and both ends of a range, must be a value the setting accepts."""
    import json

    values = dimension.choices if dimension.choices is not None else (dimension.low, dimension.high)
    for value in values:
        value = int(value) if dimension.integer else value
        try:
            ExperimentConfig.load(None, [f"{dimension.setting}={json.dumps(value)}"])
        except ConfigError as exc:
            raise ConfigError(f"{source}: {dimension.setting} = {value!r} is not allowed ({exc})") from None
