"""The options of grading, in one table: the ``autograder grade`` flags, the ``c.HiddenSuites`` traits
of an nbgrader course, and the option lines of the configuration that ``course init`` writes all
come from ``OPTIONS``.
"""

from __future__ import annotations

import argparse
import enum
from dataclasses import dataclass
from typing import Any

from autograder.sandbox.launch import Limits


class Device(str, enum.Enum):
    """Where the checks run: CUDA when present, the CPU only, or CUDA required."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class SandboxMode(str, enum.Enum):
    """bubblewrap where it runs (else degraded), bubblewrap required, or no sandbox (degraded)."""

    AUTO = "auto"
    BUBBLEWRAP = "bubblewrap"
    NONE = "none"


@dataclass(frozen=True)
class Option:
    """One option: its name in Python and in the course configuration, its flag, type, default and help."""

    name: str
    kind: type
    default: Any
    help: str
    flag: str = ""  # the `autograder grade` flag; "" for an option of nbgrader courses only
    metavar: str | None = None

    @property
    def choices(self) -> list[str] | None:
        return [m.value for m in self.kind] if issubclass(self.kind, enum.Enum) else None

    @property
    def shown(self) -> str:
        """The default as the configuration file writes it."""
        value = self.default.value if isinstance(self.default, enum.Enum) else self.default
        return f'"{value}"' if isinstance(value, str) else repr(value)


OPTIONS: tuple[Option, ...] = (
    Option("jobs", int, 0, "grading jobs, 0: one per core", "--jobs", "N"),
    Option("device", Device, Device.AUTO, "auto (CUDA when present), cpu or cuda", "--device"),
    Option(
        "sandbox",
        SandboxMode,
        SandboxMode.AUTO,
        "auto (bubblewrap where it runs, else degraded), bubblewrap (required) or none (degraded)",
        "--sandbox",
    ),
    Option(
        "call_timeout",
        float,
        Limits.call_timeout,
        "seconds one call of a student function may take",
        "--call-timeout",
        "S",
    ),
    Option(
        "submission_timeout",
        float,
        Limits.submission_timeout,
        "seconds all the checks of one part may take",
        "--submission-timeout",
        "S",
    ),
    Option(
        "memory_gib",
        float,
        Limits.memory / 2**30,
        "memory of the process running a submission, in GiB",
        "--memory",
        "GIB",
    ),
    Option(
        "cluster",
        str,
        "",
        'the address of a Dask scheduler whose workers grade; "": this machine',
        "--cluster",
        "ADDRESS",
    ),
    Option("prefetch", bool, True, "on the first notebook, grade every submitted notebook in parallel"),
    # what the students' feedback shows (the teacher's terminal report and the JSON always hold everything)
    Option("show_hints", bool, True, "feedback names the recognised mistake and how to fix it"),
    Option("show_expected", bool, True, 'feedback says the expected and received values ("expected X, got Y")'),
    Option("show_hidden_arguments", bool, True, "feedback describes the hidden inputs of a call by shape and dtype"),
    Option("show_check_names", bool, True, "feedback names each check (else only its group)"),
)


def add_arguments(parser: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    """The flags of ``autograder grade`` for every option that has one (less those named in ``skip``)."""
    for option in OPTIONS:
        if not option.flag or option.name in skip:
            continue
        default = option.default.value if isinstance(option.default, enum.Enum) else option.default
        kind = str if option.choices else option.kind
        parser.add_argument(
            option.flag,
            dest=option.name,
            type=kind,
            choices=option.choices,
            default=default,
            metavar=option.metavar,
            help=f"{option.help} (default: {default})",
        )


def traits() -> dict[str, Any]:
    """The configurable traits of ``HiddenSuites``: a value that is not allowed is refused, with what is.

    A choice is one of its values, a count (``jobs``) at least 0, a quantity (a float: seconds, GiB)
    greater than 0, a switch True or False.
    """
    import traitlets

    class Positive(traitlets.Float):
        def validate(self, obj: Any, value: Any) -> float:
            value = super().validate(obj, value)
            if not value > 0:
                raise traitlets.TraitError(f"c.HiddenSuites.{self.name} must be greater than 0, not {value!r}")
            return float(value)

    made: dict[str, Any] = {}
    for option in OPTIONS:
        trait: traitlets.TraitType
        if option.choices:
            trait = traitlets.Enum(option.choices, default_value=option.default.value, help=option.help)
        elif option.kind is int:
            trait = traitlets.Integer(option.default, min=0, help=option.help)
        else:
            kinds: dict[type, type[traitlets.TraitType]] = {
                float: Positive,
                bool: traitlets.Bool,
                str: traitlets.Unicode,
            }
            trait = kinds[option.kind](option.default, help=option.help)
        made[option.name] = trait.tag(config=True)
    return made


def config_lines(section: str = "HiddenSuites") -> list[str]:
    """The commented option lines of an nbgrader configuration, defaults shown."""
    width = max(len(f"# c.{section}.{o.name} = {o.shown}") for o in OPTIONS) + 2
    return [f"{f'# c.{section}.{o.name} = {o.shown}':<{width}}# {o.help}" for o in OPTIONS]


def limits(*, call_timeout: float, submission_timeout: float, memory_gib: float) -> Limits:
    """The sandbox's limits from the options' values."""
    for name, value in (("the call timeout", call_timeout), ("the submission timeout", submission_timeout),
                        ("the memory limit", memory_gib)):  # fmt: skip
        if not value > 0:
            raise ValueError(f"{name} must be greater than 0, got {value:g}")
    return Limits(call_timeout=call_timeout, submission_timeout=submission_timeout, memory=int(memory_gib * 2**30))
