"""Read policy files, validate them completely, and apply none unless all are valid."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lab.errors import PolicyError, PolicyProblem
from lab.policies.checks import policy_problems
from lab.policies.model import RULE_MODELS, Policy
from lab.policies.yaml_file import dotted_key, read_yaml_mapping

POLICY_SUFFIXES = (".yaml", ".yml")


def load_policy(path: Path | str) -> Policy:
    """Load and validate one policy file.

    Raises:
        PolicyError: listing every problem found in the file.
    """
    policy, problems = _read(Path(path))
    if problems:
        raise PolicyError(problems)
    assert policy is not None
    return policy


def load_policies(directory: Path | str) -> dict[str, Policy]:
    """Load every dataset policy in ``directory`` (``*.yaml``), keyed by dataset name.

    All files are validated before any is returned, so a typo in one file never leaves
    the lab with half a set of policies.

    Raises:
        PolicyError: listing every problem in every invalid file.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise PolicyError([PolicyProblem(str(directory), "", "the policies directory does not exist",
                                         "create it, or set policies_dir in the lab's settings")])
    policies: dict[str, Policy] = {}
    problems: list[PolicyProblem] = []
    for path in sorted(p for p in directory.iterdir() if p.suffix in POLICY_SUFFIXES and p.is_file()):
        policy, file_problems = _read(path)
        problems += file_problems
        if policy is None:
            continue
        if policy.dataset in policies:
            problems.append(PolicyProblem(str(path), "dataset", f"dataset '{policy.dataset}' is declared twice",
                                          "give each dataset one policy file"))
        policies[policy.dataset] = policy
    if problems:
        raise PolicyError(problems)
    return policies


def _read(path: Path) -> tuple[Policy | None, list[PolicyProblem]]:
    file = str(path)
    raw, problems = read_yaml_mapping(path)
    if raw is None:
        return None, problems
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        return None, [PolicyProblem(file, *_describe(error, raw)) for error in exc.errors()]
    return policy, [PolicyProblem(file, *problem) for problem in policy_problems(policy, path.stem)]


def _describe(error: dict[str, Any], raw: dict[str, Any]) -> tuple[str, str, str]:
    """Turn one pydantic error into (key, problem, fix) in the policy's own words."""
    loc = [part for part in error["loc"] if not _is_union_branch(part)]
    rule_kind = _rule_kind(loc)
    if rule_kind is not None:  # pydantic names the rule's kind in the location: rules.0.bands.column
        del loc[2]
    key = dotted_key(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _rule_keys(rule_kind) if rule_kind is not None else _known_keys(loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), known, n=1)
        fix = f"did you mean '{guess[0]}'?" if guess else f"remove it; known keys here: {', '.join(known)}"
        return key, f"unknown key '{loc[-1]}'", fix
    if kind == "missing":
        return key, "this key is required", "add it (see docs/policies.md)"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return key, f"'{error.get('input')}' is not allowed", f"use one of {expected}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return key, f"'{error.get('input', {}).get('kind')}' is not a kind of rule" if kind == "union_tag_invalid" \
            else "the rule has no kind", f"set kind to one of: {', '.join(RULE_MODELS)}"
    if kind == "string_pattern_mismatch":
        return key, f"'{error.get('input')}' is not a valid name", \
            "use letters, digits, '_' or '-', starting with a letter (and 'table.column' for references)"
    return key, error["msg"].rstrip("."), "correct the value (see docs/policies.md)"


def _is_union_branch(part: Any) -> bool:
    # pydantic adds the type of each union branch to the location, e.g. 'float' or 'date'.
    return isinstance(part, str) and part in ("float", "int", "date", "datetime", "str", "bool", "decimal")


def _rule_kind(loc: list[Any]) -> str | None:
    return loc[2] if len(loc) > 2 and loc[0] == "rules" and loc[2] in RULE_MODELS else None


def _rule_keys(rule_kind: str) -> list[str]:
    """A rule's keys as written in the file (``from``, ``if``: aliases of Python keywords)."""
    return sorted(field.alias or name for name, field in RULE_MODELS[rule_kind].model_fields.items())


def _known_keys(loc: list[Any]) -> list[str]:
    """The keys allowed at a location, found by walking the models."""
    model: type[BaseModel] | None = Policy
    for part in loc:
        if model is None:
            return []
        field = model.model_fields.get(str(part)) if isinstance(part, str) else None
        if field is None:  # a dict key or list index: step into the value type
            continue
        model = _model_in(field.annotation)
    return sorted(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
