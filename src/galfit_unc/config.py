"""The workflow's configuration: its JSON schemas (read once each), values typed by the
schema, and the check that names the first bad key in one line."""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path

import jsonschema
import yaml

__all__ = ["SCHEMAS", "RENAMED_KEYS", "ConfigError", "load_schema", "schema_problem", "coerce_config", "check_config"]

#: The schemas of the configuration and of the targets table, beside the workflow.
SCHEMAS = Path(__file__).resolve().parents[2] / "config" / "schemas"


#: Keys of earlier versions -> their names now (sky windows were called regions).
RENAMED_KEYS = {
    "regions": "windows",
    "windows.max_regions": "windows.max_windows",
    "windows.min_regions": "windows.min_windows",
    "batch.regions": "batch.windows",
    "stats.min_ok_regions": "stats.min_ok_windows",
}


class ConfigError(ValueError):
    """The configuration breaks its schema; the message is one line for the user."""


@functools.cache
def _load(path: Path) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def load_schema(path) -> dict:
    """A JSON schema written as YAML, read once per file (do not change the result).

    Parameters
    ----------
    path : path-like
        The schema file.
    """
    return _load(Path(path).resolve())


_CHARACTER_NAMES = {" ": "a space", "\t": "a tab"}


def schema_problem(error) -> str:
    """What is wrong and what to do, in words, for one jsonschema error (no regular expressions)."""
    about = " ".join(str(error.schema.get("description", "")).split()) if isinstance(error.schema, dict) else ""
    if error.validator == "pattern" and isinstance(error.instance, str):
        pattern = error.validator_value
        # Characters that the pattern refuses after a valid first character.
        bad = sorted({c for c in error.instance if not re.fullmatch(pattern, "A" + c)})
        what = ", ".join(_CHARACTER_NAMES.get(c, repr(c)) for c in bad) if bad else "a first character that is not allowed"
        rule = f"; {about[0].lower()}{about[1:].rstrip('.')}" if about else ""
        return f"{error.instance!r} contains {what}{rule}"
    hint = f" ({about})" if about else ""
    return f"{error.message}; fix the value{hint}"


def _types_fit(schema: dict, value) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(value)


def _coerce(value, schema: dict):
    """``value`` read as YAML when it is a string that ``schema`` refuses and its YAML reading fits."""
    if not isinstance(value, str) or _types_fit(schema, value):
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    return parsed if _types_fit(schema, parsed) else value


def _coerce_mapping(config: dict, schema: dict) -> None:
    for key, sub in schema.get("properties", {}).items():
        if key not in config:
            continue
        value = config[key]
        if value is None and sub.get("type") == "object":
            # A section left empty (``fitter:`` with nothing below) takes its defaults.
            del config[key]
        elif isinstance(value, dict):
            _coerce_mapping(value, sub)
        elif isinstance(value, list) and isinstance(sub.get("items"), dict):
            config[key] = [_coerce(v, sub["items"]) for v in value]
        else:
            config[key] = _coerce(value, sub)


def coerce_config(config: dict, schema) -> dict:
    """Give the values of ``config`` the types its schema declares, in place.

    ``snakemake --config 'demo={seed: 3}'`` hands nested values over as strings ('3');
    each string that the schema refuses is read as YAML and kept when that reading fits
    (``'3'`` -> 3, ``'true'`` -> True, ``'[8, 4]'`` -> [8, 4]).  A section written with
    nothing below it is removed, so that its defaults apply.

    Parameters
    ----------
    config : dict
        The configuration, changed in place.
    schema : path-like
        JSON schema (YAML) of the configuration.

    Returns
    -------
    dict
        ``config``.
    """
    _coerce_mapping(config, load_schema(schema))
    return config


def _config_message(error, source: str) -> str:
    """One line for the first error of the configuration: the key, the problem, what to do."""
    prefix = "".join(f"{p}." for p in error.path)
    if error.validator == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))[0]
        close = difflib.get_close_matches(unknown, known, n=1, cutoff=0.6)
        todo = f"did you mean '{prefix}{close[0]}'?" if close else f"the keys here are {', '.join(known)}"
        return f"{source}: {prefix}{unknown}: unknown key; {todo}"
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        about = " ".join(str(error.schema.get("properties", {}).get(missing, {}).get("description", "")).split())
        return f"{source}: {prefix}{missing}: missing key; add it" + (f" ({about})" if about else "")
    key = prefix.rstrip(".") or "top level"
    return f"{source}: {key}: {schema_problem(error)}"


def _check_renamed(config: dict, source: str) -> None:
    """Name a key of an earlier version and its name now (README: "Names from older versions")."""
    for old, new in RENAMED_KEYS.items():
        section, _, key = old.partition(".")
        value = config.get(section)
        if (not key and value is not None) or (key and isinstance(value, dict) and key in value):
            raise ConfigError(f"{source}: {old}: renamed to {new}; rename the key (README: Names from older versions)")


def check_config(config: dict, schema, source: str) -> None:
    """Raise :class:`ConfigError` naming the first key of ``config`` that breaks ``schema``.

    Snakemake's own validation (which also fills defaults) prints the whole schema; this
    check runs first so that the user reads one line: the file, the key, what is wrong and
    what to do (the key's meaning, "did you mean" for a misspelt key).

    Parameters
    ----------
    config : dict
    schema : path-like
        JSON schema (YAML) of the configuration.
    source : str
        The configuration file(s), for the message.
    """
    _check_renamed(config, source)
    errors = sorted(jsonschema.Draft202012Validator(load_schema(schema)).iter_errors(config), key=lambda e: list(map(str, e.path)))
    if errors:
        raise ConfigError(_config_message(errors[0], source))
