"""A folder's seal: `manifest.json`, the SHA-256 of every file beside it and of every setting in
its config.json, itself covered by a digest of its own content.

Why config.json's settings and not its bytes: an edit that keeps the file valid (classes swapped,
another pooling, a stopword list) changes what the model answers, and the refusal should say which
field changed, while re-indenting the file changes nothing. So each top-level field of config.json,
and each setting of the sections below it (`text.pipeline`, `model.pooling`), has its own digest.

This catches edits, partial copies and files from another model; it is not a signature: whoever
can rewrite every file can rewrite the manifest too.

    seal(folder, files)            write manifest.json for `files` and config.json (last, atomically)
    verify_files(folder, names)    the named files are the sealed ones (before parsing them)
    verify_config(folder, raw)     config.json's settings are the sealed ones
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .errors import ModelError
from .io import atomic_write, bytes_writer, sha256_file

MANIFEST = "manifest.json"
KIND = "sentiment-rnn-manifest"
VERSION = 1
MAX_MANIFEST_BYTES = 1 << 20


def json_bytes(obj: Any) -> bytes:
    """How every JSON file of a folder is written: sorted keys, indented, UTF-8."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def field_digests(config: dict[str, Any]) -> dict[str, str]:
    """One digest per top-level field, and per key of a field that is an object (`model.pooling`)."""
    fields = {}
    for name, value in config.items():
        if isinstance(value, dict) and value:
            fields.update({f"{name}.{key}": _digest(inner) for key, inner in value.items()})
        else:
            fields[name] = _digest(value)
    return fields


def manifest_content(files: dict[str, str], config: dict[str, Any]) -> dict[str, Any]:
    body = {"kind": KIND, "version": VERSION, "files": files, "config_fields": field_digests(config)}
    return {**body, "sha256": _digest(body)}


def manifest_writer(files: dict[str, bytes], config: dict[str, Any]):
    """The writer of manifest.json for files given by content (they are about to be written)."""
    digests = {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}
    return bytes_writer(json_bytes(manifest_content(digests, config)))


def seal(folder: str | Path, files: tuple[str, ...]) -> None:
    """(Re)write the manifest of a folder from the files it holds now: after a file of it was
    changed on purpose (a new decision rule, a model card)."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    digests = {name: sha256_file(folder / name) for name in files if name != "config.json"}
    atomic_write(folder / MANIFEST, bytes_writer(json_bytes(manifest_content(digests, config))))


def read_manifest(folder: Path, required: tuple[str, ...]) -> dict[str, Any]:
    """manifest.json, checked against its own digest, listing every file in `required`."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ModelError(f"{path} is missing: the folder is not sealed, so edits to it could not be told; "
                         f"save or copy the model again")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ModelError(f"{path}: {path.stat().st_size} bytes, over the {MAX_MANIFEST_BYTES}-byte limit of a manifest")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelError(f"{path}: not a readable manifest ({type(exc).__name__})") from None
    if not (isinstance(manifest, dict) and manifest.get("kind") == KIND and isinstance(manifest.get("files"), dict)
            and isinstance(manifest.get("config_fields"), dict)):
        raise ModelError(f"{path}: not a sentiment-rnn manifest (fields kind, files, config_fields)")
    body = {key: value for key, value in manifest.items() if key != "sha256"}
    if manifest.get("sha256") != _digest(body):
        raise ModelError(f"{path} was edited after saving (its own SHA-256 differs); save or copy the model again")
    missing = [name for name in required if name != "config.json" and name not in manifest["files"]]
    if missing or not manifest["config_fields"]:
        raise ModelError(f"{path} does not cover {', '.join(missing) or 'config.json'}: the folder is not sealed "
                         f"whole; save or copy the model again")
    return manifest


def verify_files(folder: Path, manifest: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if sha256_file(folder / name) != manifest["files"][name]:
            raise ModelError(f"{folder / name} is not the file this model was saved with (SHA-256 differs from "
                             f"{MANIFEST}): the folder was changed or only partly written; save or copy the model again")


def verify_config(folder: Path, manifest: dict[str, Any], config: dict[str, Any]) -> None:
    sealed, found = manifest["config_fields"], field_digests(config)
    changed = sorted(name for name in sealed.keys() | found.keys() if sealed.get(name) != found.get(name))
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise ModelError(f"{folder / 'config.json'} was edited after saving: field {shown} differs from what was "
                         f"saved ({MANIFEST}); save or copy the model again")
