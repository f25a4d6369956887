"""Reading a request body as JSON with bounded depth, string, number and list sizes.

A body under the size limit can still hurt: a 5,000-digit integer makes Python's int
conversion raise (a 500 before this module existed), a deep nesting exhausts the
recursion limit, a long string or list costs memory and time further on. Every such
body is refused here, at parse time, with a 400 ``InputTooLarge`` that names the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lab.vault import query_errors as qe
from lab.vault.query_errors import QueryProblem
from lab.vault.query_spec import reject_serialized_plan

_EXAMPLE = '{"dataset": "welfare", "statistic": "count", "epsilon": "0.1"}'


@dataclass(frozen=True)
class InputLimits:
    """The largest JSON a route reads (fixed; a query spec is small)."""

    depth: int = 8
    string_chars: int = 1000
    number_chars: int = 40
    items: int = 1000
    keys: int = 50
    #: Refuse a serialized plan or pickle first (it is usually long, and its own refusal says more).
    refuse_plans: bool = True


#: Bodies of api/query and api/preview.
QUERY_INPUT = InputLimits()
#: Hackathon submissions carry a prediction per grid cell: longer lists, same depth, and a CSV
#: as one string (bounded by the body limit, 64 KiB).
SUBMISSION_INPUT = InputLimits(string_chars=64 * 1024, items=100_000, keys=100_000, refuse_plans=False)


@dataclass(frozen=True)
class _LongNumber:
    """Stands in for a number too long to convert, so that the check can name its field."""

    chars: int


def parse_body(body: bytes, limits: InputLimits = QUERY_INPUT) -> Any:
    """The JSON value of ``body``, if it is valid UTF-8 JSON within ``limits``.

    Raises:
        BadSpec: the body is empty, not UTF-8 or not JSON.
        InputTooLarge: too deep, or a string, number, list or object over the limits; the
            problem names the field (``filters[0].value``).
    """
    if not body.strip():
        raise qe.BadSpec("(body): the request has no body. Fix: send the query as a JSON object.")

    def number(text: str, kind: type) -> Any:
        return _LongNumber(len(text)) if len(text) > limits.number_chars else kind(text)

    try:
        value = json.loads(body.decode("utf-8"), parse_int=lambda t: number(t, int),
                           parse_float=lambda t: number(t, float))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise qe.BadSpec("(body): the request body is not valid JSON. Fix: send the query as a JSON object, "
                         f"e.g. {_EXAMPLE}.") from None
    if limits.refuse_plans:
        reject_serialized_plan(value)
    check_shape(value, limits)
    return value


def check_shape(value: Any, limits: InputLimits = QUERY_INPUT, where: str = "", depth: int = 1) -> None:
    """Refuse a parsed JSON value deeper, or with longer strings, lists or objects, than ``limits``."""
    field = where or "(top level)"
    if depth > limits.depth:
        raise _refusal(field, f"the JSON is nested more than {limits.depth} levels deep",
                       "send a flat query spec (see docs/vault.md)")
    if isinstance(value, _LongNumber):
        raise _refusal(field, f"a number of {value.chars} characters is over the limit of {limits.number_chars}",
                       "write numbers with fewer digits (epsilons as short decimal strings, e.g. \"0.1\")")
    if isinstance(value, str):
        if len(value) > limits.string_chars:
            raise _refusal(field, f"a string of {len(value)} characters is over the limit of {limits.string_chars}",
                           "send names and values of at most that length")
    elif isinstance(value, Mapping):
        if len(value) > limits.keys:
            raise _refusal(field, f"an object with {len(value)} keys is over the limit of {limits.keys}",
                           "send only the keys of a query spec")
        for key, item in value.items():
            name = str(key)
            if len(name) > limits.string_chars:
                raise _refusal(field, f"a key of {len(name)} characters is over the limit of {limits.string_chars}",
                               "use the query spec's own keys")
            check_shape(item, limits, f"{where}.{name}" if where else name, depth + 1)
    elif isinstance(value, list):
        if len(value) > limits.items:
            raise _refusal(field, f"a list of {len(value)} items is over the limit of {limits.items}",
                           "send shorter lists (group by a column instead of listing its values)")
        for index, item in enumerate(value):
            check_shape(item, limits, f"{where}[{index}]", depth + 1)


def _refusal(field: str, problem: str, fix: str) -> qe.QueryError:
    return qe.QueryError.from_problems([QueryProblem(qe.InputTooLarge, field, problem, fix)])
