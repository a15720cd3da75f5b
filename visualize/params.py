"""The kinds of hyperparameter a method declares, each with its own flag, parsing and checks.

A method lists its hyperparameters as instances of these classes::

    params = (TARGET,
              Int("patch", 8, "side of the square patch, in input pixels", lo=1),
              Choice("mode", "guided", "ReLU backward rule", ("guided", "deconvnet")))

and everything else follows from the declaration: the command-line flag (``--patch``; the
class is ``--class``), the parsing of its text with a message that names the value and the
valid range (given by argparse at parse time, before any model is loaded), the help line with
the default and the per-architecture presets, and the checks that need the model (a layer it
has, a class it knows), done by :meth:`Param.check` before any work starts. The same checks
guard the Python API: ``Method.__call__`` runs :meth:`Param.validate` on every value.

Kinds shared by several methods are defined once at the bottom (``TARGET``, ``LAYER``,
``UNIT``, ``BATCH_SIZE``); a method that wants other words for one writes
``TARGET.with_help("...")``.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import numbers
from dataclasses import dataclass

__all__ = ["Param", "Int", "Float", "Choice", "Flag", "Text", "IntList", "FloatList", "Layer", "ClassTarget",
           "Unit", "TARGET", "LAYER", "UNIT", "BATCH_SIZE"]


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its Python name, default, one-line help, and (optionally) the
    flag that differs from ``--<name with dashes>``. Subclasses define :meth:`parse`
    (text from the command line -> value, ValueError with a clear message otherwise) and,
    where the model matters, :meth:`check`."""

    name: str
    default: object
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def metavar(self) -> str | None:
        return None

    def parse(self, text: str):
        """The value of the command-line text ``text``; ValueError naming the valid values."""
        return text

    def validate(self, value):
        """``value`` as given to the Python API (already a value, or text): checked and
        normalized by the same rules as the command line. None means "use the default"."""
        if value is None:
            return None
        return self.parse(value) if isinstance(value, str) else self._check_value(value)

    def _check_value(self, value):
        return value

    def _converted(self, text, convert):
        """``convert(text)`` checked by this kind's rules; the kind's message when it fails."""
        try:
            value = convert(str(text).strip())
        except ValueError:
            raise self._error(text) from None
        return self._check_value(value)

    def _converted_items(self, text, convert):
        """Comma-separated items, each through ``convert``, checked as one tuple by this kind's
        rules (the message shows ``text`` as typed)."""
        try:
            values = tuple(convert(p) for p in _split(text))
        except ValueError:
            raise self._error(text) from None
        return self._check_value(values, shown=text)

    def check(self, model, value, params: dict):
        """Checks that need the model (its layers, its classes); returns the value to use.
        The base accepts everything."""
        return value

    def with_help(self, help: str) -> "Param":
        """The same parameter with another help line."""
        return dataclasses.replace(self, help=help)

    def with_default(self, default) -> "Param":
        """The same parameter with another default."""
        return dataclasses.replace(self, default=default)

    def argparse_type(self):
        """The ``type`` argparse calls on the flag's text: :meth:`parse`, its message printed by
        argparse as ``argument --flag: ...`` (at parse time, exit status 2)."""

        def parse(text):
            try:
                return self.parse(text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{self.flag}: ")) from None

        parse.__name__ = self.name
        return parse

    def range_text(self) -> str:
        """The valid values in words, for the help and the error messages ("" if any)."""
        return ""

    def _error(self, value, why: str = "") -> ValueError:
        valid = self.range_text()
        return ValueError(f"{self.flag}: {value!r} is not valid" + (f": {why}" if why else "")
                          + (f"; expected {valid}" if valid else ""))


def _bounds_text(kind: str, lo, hi, lo_open: bool = False) -> str:
    if lo is not None and hi is not None:
        return f"{kind} from {lo} {'(exclusive) ' if lo_open else ''}to {hi}"
    if lo is not None:
        return f"{kind} {'>' if lo_open else '>='} {lo}"
    if hi is not None:
        return f"{kind} <= {hi}"
    return kind


@dataclass(frozen=True)
class Int(Param):
    """An integer in ``[lo, hi]`` (either bound may be None)."""

    lo: int | None = None
    hi: int | None = None

    def range_text(self):
        return _bounds_text("an integer", self.lo, self.hi)

    def parse(self, text):
        return self._converted(text, int)

    def _check_value(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self._error(value, "not an integer")
        value = int(value)
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise self._error(value, "out of range")
        return value


@dataclass(frozen=True)
class Float(Param):
    """A finite number in ``[lo, hi]`` (``(lo, hi]`` when ``lo_open``)."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False

    def range_text(self):
        return _bounds_text("a number", self.lo, self.hi, self.lo_open)

    def parse(self, text):
        return self._converted(text, float)

    def _check_value(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self._error(value, "not a number")
        value = float(value)
        if not math.isfinite(value):
            raise self._error(value, "not a finite number")
        below = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        if below or (self.hi is not None and value > self.hi):
            raise self._error(value, "out of range")
        return value


@dataclass(frozen=True)
class Choice(Param):
    """One of a fixed set of words."""

    choices: tuple = ()

    def range_text(self):
        return "one of " + ", ".join(map(str, self.choices))

    def parse(self, text):
        return self._check_value(str(text).strip())

    def _check_value(self, value):
        if value not in self.choices:
            raise self._error(value)
        return value


@dataclass(frozen=True)
class Flag(Param):
    """An on/off switch: ``--name`` turns it on (declare it with default False)."""

    def _check_value(self, value):
        if not isinstance(value, bool):
            raise self._error(value, "expected True or False")
        return value

    def parse(self, text):
        words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if str(text).strip().lower() not in words:
            raise self._error(text, "expected true or false")
        return words[str(text).strip().lower()]


@dataclass(frozen=True)
class Text(Param):
    """Free text (a path, a name resolved later)."""

    def _check_value(self, value):
        return str(value)


def _split(text) -> list[str]:
    parts = [p.strip() for p in str(text).split(",")]
    if not parts or any(p == "" for p in parts):
        raise ValueError("empty item")
    return parts


@dataclass(frozen=True)
class IntList(Param):
    """Integers like ``3``, ``3,5,7`` or ``0-7,12`` (ranges inclusive, ascending), each in
    ``[lo, hi]``; at least one."""

    lo: int | None = None
    hi: int | None = None

    def range_text(self):
        return _bounds_text("integers like 3, 3,5,7 or 0-7, each", self.lo, self.hi)

    def parse(self, text):
        values = []
        try:
            for part in _split(text):
                first, sep, last = part.partition("-")
                if sep and first:
                    a, b = int(first), int(last)
                    if b < a:
                        raise self._error(text, f"the range {part} runs backwards (write {b}-{a})")
                    values.extend(range(a, b + 1))
                else:
                    values.append(int(part))
        except ValueError as exc:
            if str(exc).startswith(self.flag):
                raise
            raise self._error(text) from None
        return self._check_value(tuple(values), shown=text)

    def _check_value(self, value, shown=None):
        values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        value = value if shown is None else shown
        if not values:
            raise self._error(value, "no values")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise self._error(value, f"{v!r} is not an integer")
            if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
                raise self._error(value, f"{v} is out of range")
        return tuple(int(v) for v in values)


@dataclass(frozen=True)
class FloatList(Param):
    """Numbers like ``0.5`` or ``0.4,0.5,0.6``, each finite and in ``[lo, hi]``; when
    ``lengths`` is given, the count must be one of them."""

    lo: float | None = None
    hi: float | None = None
    lengths: tuple | None = None

    def range_text(self):
        count = f"{' or '.join(map(str, self.lengths))} " if self.lengths else ""
        return _bounds_text(f"{count}numbers like 0.5 or 0.4,0.5,0.6, each", self.lo, self.hi)

    def parse(self, text):
        return self._converted_items(text, float)

    def _check_value(self, value, shown=None):
        values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        value = value if shown is None else shown
        if self.lengths and len(values) not in self.lengths:
            raise self._error(value, f"{len(values)} values")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise self._error(value, f"{v!r} is not a finite number")
            if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
                raise self._error(value, f"{v} is out of range")
        return tuple(float(v) for v in values)


@dataclass(frozen=True)
class Layer(Param):
    """A layer of the model, by dotted path or readable alias (``conv5_3``); checked against
    the model before any work, with the closest names on a typo."""

    def _check_value(self, value):
        return str(value)

    def check(self, model, value, params):
        if value is not None:
            model.resolve(value)      # KeyError listing close names
        return value


@dataclass(frozen=True)
class ClassTarget(Param):
    """A class of the model's classifier: an index or a name (case-insensitive)."""

    @property
    def flag(self):
        return "--class"

    def _check_value(self, value):
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, str)):
            raise self._error(value, "a class is an index or a name")
        return int(value) if isinstance(value, numbers.Integral) else value

    def parse(self, text):
        text = str(text).strip()
        if not text:
            raise self._error(text, "empty")
        return int(text) if text.isdigit() else text

    def check(self, model, value, params):
        if value is not None:
            from visualize.inputs import resolve_class
            resolve_class(model, value)   # KeyError: out of range, or the closest names
        return value


@dataclass(frozen=True)
class Unit(Param):
    """One unit of a layer: ``channel`` or ``channel,y,x`` (non-negative integers); the
    method checks it against the layer's shape."""

    def range_text(self):
        return "a channel or channel,y,x (non-negative integers)"

    def parse(self, text):
        return self._converted_items(text, int)

    def _check_value(self, value, shown=None):
        values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        value = value if shown is None else shown
        if len(values) not in (1, 3) or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0
                                            for v in values):
            raise self._error(value)
        return tuple(int(v) for v in values)


TARGET = ClassTarget("target", None, "class (index or name); default: the predicted class")
LAYER = Layer("layer", None, "layer (dotted path or name like conv5_3)")
UNIT = Unit("unit", None, "channel, or channel,y,x, of --layer; default: the most active unit")
BATCH_SIZE = Int("batch_size", 64, "images per forward pass", lo=1, hi=4096)
