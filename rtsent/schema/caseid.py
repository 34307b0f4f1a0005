"""Case ids: the one grammar that names a case, built and parsed here and nowhere else.

    case id  = ROW "-seed" SEED                          lora-lr2e-4-target_modules=all-linear-bf16-seed0
    ROW      = METHOD ["-lr" NUMBER] {"-" PART} "-" PRECISION
    PART     = KEY NUMBER                                r16, epochs4, C1e-1, beta0.25
             | KEY "=" WORD                              pooling=mean, target_modules=all-linear,
                                                         standardize=false, ngram_range=1+2, max_length=None
    METHOD   = a letter, then letters, digits, "_"       (never "-": the method is all before the first "-")
    KEY      = a Python identifier                       (numeric values: a KEY not ending in a digit)
    NUMBER   = `format_number(value)`                    2e-4, 5e-5, 16, 1, 0.25, 0.00035, 1e4
    PRECISION= fp32 | fp16 | bf16;  SEED = 0 | [1-9][0-9]*

The row is the table row a case fills (the id without its seed); a floor is set for the row without its
precision (`CaseId.setting`) or for a method alone. The parts are the values a sweep set besides lr
(`SweepPoint.swept`), in the sweep file's order: numbers follow their key, everything else (words,
booleans in lower case, tuples joined with "+", None) follows "=". A word may hold "-" (`all-linear`)
and a number "-" (`2e-4`): a new part starts only at a "-" followed by KEY and then "=" or a NUMBER that
ends the part. An id is built only when it parses back to the same case (else ValueError), and `parse`
accepts only the one spelling `format` writes, so ids and cases are one-to-one.

No torch here: the reporter and the floors read ids.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

PRECISIONS = ("fp32", "fp16", "bf16")  # what a case runs in (rtsent.engine.devices resolves them)
SEED_PREFIX = "-seed"
ROW_GRAMMAR = "METHOD[-lrNUMBER][-KEYNUMBER|-KEY=VALUE]...-PRECISION"
GRAMMAR = f"{ROW_GRAMMAR}-seedN, e.g. lora-lr2e-4-target_modules=all-linear-bf16-seed0"

_METHOD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?"  # every form format_number writes
_INTEGER = re.compile(r"-?[0-9]+")
# A part at the start of the text: the shortest KEY, then a NUMBER that ends the part, or "=".
_PART_START = re.compile(rf"(?P<key>[A-Za-z_][A-Za-z0-9_]*?)(?:(?P<number>{_NUMBER})(?=-|\Z)|=)")
# Where a word value ends: at the next "-" that starts a part, or at the end.
_WORD_END = re.compile(rf"-(?=[A-Za-z_][A-Za-z0-9_]*?(?:{_NUMBER}(?:-|\Z)|=))|\Z")
_SEED = re.compile(r"(?P<row>.*)-seed(?P<seed>0|[1-9][0-9]*)", re.DOTALL)

Value = int | float | str


def format_number(value: float) -> str:
    """A number as case ids write it: 2e-4 -> "2e-4", 5e-05 -> "5e-5", 16 -> "16", 1.0 -> "1", 3.5e-4 -> "0.00035"."""
    if float(value).is_integer() and abs(value) < 10_000:
        return str(int(value))
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}" if float(f"{mantissa}e{exponent}") == value else repr(value)


def part_value(value: Any) -> Value:
    """A swept value as the id holds it: numbers stay numbers, anything else becomes its word."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    if isinstance(value, tuple | list):
        return "+".join(str(v) for v in value)
    return str(value)


def format_part(key: str, value: Any) -> str:
    """How a swept value reads in a case id: numbers follow their key (`r16`, `lr5e-4`), words after `=`."""
    value = part_value(value)
    return f"{key}{format_number(value)}" if isinstance(value, int | float) else f"{key}={value}"


def with_seed(row: str, seed: int) -> str:
    """The case id of a row's seed: ("lora-lr2e-4-bf16", 0) -> "lora-lr2e-4-bf16-seed0"."""
    return f"{row}{SEED_PREFIX}{seed}"


def method_of(text: str) -> str:
    """The method a case id, row, floor key or method name names: all before the first "-" (not checked
    here: the caller compares it with the registry and says what it expected)."""
    return text.split("-", 1)[0]


def _number(text: str) -> int | float:
    return int(text) if _INTEGER.fullmatch(text) else float(text)


def _split(text: str, *, seeded: bool) -> tuple[str, float | None, tuple[tuple[str, Value], ...], str, int | None]:
    """The fields of an id (`seeded`) or of a row; ValueError with the reason in a few words."""
    seed = None
    if seeded:
        match = _SEED.fullmatch(text)
        if not match:
            raise ValueError("it does not end in -seedN")
        text, seed = match["row"], int(match["seed"])
    method, _, rest = text.partition("-")
    if not _METHOD.fullmatch(method):
        raise ValueError(f"method {method!r} is not a name (a letter, then letters, digits or _)")
    middle, _, precision = rest.rpartition("-")
    if precision not in PRECISIONS:
        raise ValueError(
            f"it does not end in a precision ({', '.join(PRECISIONS)}){' before the seed' if seeded else ''}"
        )
    lr = None
    parts: list[tuple[str, Value]] = []
    position = 0
    while position < len(middle):
        start = _PART_START.match(middle, position)
        if not start:
            raise ValueError(f"{middle[position:]!r} does not start with KEYNUMBER or KEY=VALUE")
        key = start["key"]
        if start["number"] is not None:
            value: Value = _number(start["number"])
            position = start.end()
        else:
            if start.end() == len(middle):
                raise ValueError(f"{key}= has no value")
            end = _WORD_END.search(middle, start.end() + 1)  # a word has a character or more; \Z always matches
            assert end is not None
            value, position = middle[start.end() : end.start()], end.start()
        if key == "lr" and not parts and lr is None and isinstance(value, int | float):
            lr = float(value)
        else:
            parts.append((key, value))
        if position < len(middle):
            if middle[position] != "-":
                raise ValueError(f"{middle[position:]!r} does not start with -")
            position += 1
            if position == len(middle):
                raise ValueError("it has an empty part")
    return method, lr, tuple(parts), precision, seed


@dataclass(frozen=True)
class CaseId:
    """What a case id names: method, learning rate (None: not in the id), the swept parts, precision and
    seed (None: a row). `format()` writes it, `parse` reads it; the parts hold numbers or words
    (`part_value`), so a case config's swept values can be passed as they are."""

    method: str
    lr: float | None
    parts: tuple[tuple[str, Any], ...]
    precision: str
    seed: int | None = None

    def __post_init__(self) -> None:
        parts = tuple((key, part_value(value)) for key, value in self.parts)
        object.__setattr__(self, "parts", parts)
        if not (isinstance(self.method, str) and _METHOD.fullmatch(self.method)):
            raise ValueError(f"case id method {self.method!r} is not a name (a letter, then letters, digits or _)")
        if self.lr is not None and (isinstance(self.lr, bool) or not math.isfinite(self.lr)):
            raise ValueError(f"case id lr={self.lr!r} is not a finite number")
        if self.precision not in PRECISIONS:
            raise ValueError(f"case id precision {self.precision!r} is not one of {', '.join(PRECISIONS)}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0):
            raise ValueError(f"case id seed={self.seed!r} is not a non-negative integer")
        for key, value in parts:
            if not (isinstance(key, str) and _KEY.fullmatch(key)) or key == "lr":
                raise ValueError(f"case id part key {key!r} is not an identifier other than lr")
            if isinstance(value, int | float) and (not math.isfinite(value) or key[-1].isdigit()):
                raise ValueError(
                    f"case id part {key}={value!r}: a number needs a finite value and a key not ending in 0-9"
                )
            if value == "":
                raise ValueError(f"case id part {key!r} has an empty value")
        # one-to-one: the text this writes must read back as this case
        text = self.format()
        try:
            again = _split(text, seeded=self.seed is not None)
        except ValueError:
            again = None
        if again != (self.method, self.lr, parts, self.precision, self.seed):
            raise ValueError(
                f"case id {text!r} would not read back as the case it names (a value that reads as a part)"
            )

    @property
    def row(self) -> str:
        """The table row: "lora-lr2e-4-bf16" (the seed left out)."""
        return f"{self.setting}-{self.precision}"

    @property
    def setting(self) -> str:
        """The row without its precision, what a floor is set for: "lora-lr2e-4"."""
        lr = f"-lr{format_number(self.lr)}" if self.lr is not None else ""
        return self.method + lr + "".join(f"-{format_part(key, value)}" for key, value in self.parts)

    def format(self) -> str:
        """The case id ("lora-lr2e-4-bf16-seed0"), or the row when the seed is None."""
        return self.row if self.seed is None else with_seed(self.row, self.seed)

    def __str__(self) -> str:
        return self.format()

    @classmethod
    def parse(cls, text: str) -> CaseId:
        """A case id; ValueError in one line naming the id and the grammar."""
        return cls._parse(text, seeded=True, what="case id")

    @classmethod
    def parse_row(cls, text: str) -> CaseId:
        """A row (a case id without -seedN); its seed is None."""
        return cls._parse(text, seeded=False, what="row")

    @classmethod
    def _parse(cls, text: str, *, seeded: bool, what: str) -> CaseId:
        grammar = GRAMMAR if seeded else f"{ROW_GRAMMAR}, e.g. lora-lr2e-4-target_modules=all-linear-bf16"
        if not isinstance(text, str):
            raise ValueError(f"{what} {text!r} is not a string; expected {grammar}")
        try:
            case = cls(*_split(text, seeded=seeded))
        except ValueError as error:
            raise ValueError(f"{what} {text!r} does not parse ({error}); expected {grammar}") from None
        if case.format() != text:
            raise ValueError(f"{what} {text!r} is not in its one spelling {case.format()!r}; expected {grammar}")
        return case
