"""The hand-off bundle of an uplift protocol run (``crm-env learn bundle`` / ``crm-env learn verify``).

A bundle is one ``.tar.gz`` a customer can check on a clean machine: the protocol's configuration
(``protocol.json``), every phase's raw files (evaluation results and run records; learning events, the
memory export holding every version, the memory's SQLite file and its ``crm-env db snapshot``,
``memory.snapshot.json``), the summary, report and plots, the JSON
schema of the event log, the dataset's split manifest, ``VERIFY.md`` (the commands) and ``MANIFEST.json``
(package version and the SHA-256 of every file).

Verifying re-checks it from the inside: every file against the manifest (nothing missing, nothing
added), every raw file parses, every figure of ``summary.json`` and the text of ``report.md`` recomputed
from the raw files alone, each memory export folds to the version its learning run reports and holds the
same deltas as the memory's database snapshot, and the
held-out conversations the evaluations name hash to the recorded dataset hash in this installation.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from crm_env.errors import ConfigError

MANIFEST, VERIFY, MEMORY_SNAPSHOT = "MANIFEST.json", "VERIFY.md", "memory.snapshot.json"
BUNDLE_FORMAT = 1
# The files a phase contributes (whatever of them it has); the top level adds protocol.json.
_PHASE_FILES = ("run.json", "results.jsonl", "events.jsonl", "memory.json", "memory.db", "summary.json", "report.md")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _members(run_dir: Path) -> dict[str, bytes]:
    from crm_env.backends.snapshot import document, dumps
    from crm_env.datasets.loader import DATA_DIR, SPLITS_FILE
    from crm_env.learning.events import event_schema
    from crm_env.learning.store import snapshot_memories

    files: dict[str, bytes] = {}
    for path in sorted(run_dir.iterdir()):
        if path.is_file() and (path.name in ("protocol.json", "summary.json", "report.md") or path.suffix == ".png"):
            files[path.name] = path.read_bytes()
        elif path.is_dir():
            for name in (*_PHASE_FILES, *sorted(p.name for p in path.glob("*.png"))):
                if (path / name).is_file():
                    files[f"{path.name}/{name}"] = (path / name).read_bytes()
            if (path / "memory.db").is_file():
                memories = snapshot_memories(f"sqlite:///{(path / 'memory.db').resolve()}")
                files[f"{path.name}/{MEMORY_SNAPSHOT}"] = dumps(document({}, memories)).encode()
    files["events.schema.json"] = json.dumps(event_schema(), indent=1, sort_keys=True).encode()
    files["splits.json"] = (DATA_DIR / SPLITS_FILE).read_bytes()
    return files


def _verify_text(version: str, simulated: bool) -> str:
    return "\n".join([
        *([("**SIMULATED run** (scripted student): its figures test the machinery and support no claim about "
            "a model."), ""] if simulated else []),
        "# Verifying this bundle", "",
        f"Made by crm_env {version}. On a clean machine with that version installed:", "",
        "    crm-env learn verify BUNDLE.tar.gz     # every file against MANIFEST.json, every figure recomputed",
        "    mkdir check && tar xzf BUNDLE.tar.gz -C check && crm-env learn report check",
        "                                            # summary.json and report.md rebuilt from the raw files", "",
        ("The raw files: `baseline/`, `frozen-R/`, `placebo-R/`, `ablate-R-ENTRY/` and `probe-R-W/` hold "
         "evaluation runs (`run.json`: configuration, dataset hash, conversation ids; `results.jsonl`: one line "
         "per episode); `learning-R/` holds learning runs (`events.jsonl`, schema in `events.schema.json`; "
         "`memory.json`: every memory version as deltas; `memory.db`: the memory's SQLite database; "
         "`memory.snapshot.json`: the same memory as `crm-env db snapshot` writes it, which `crm-env db restore "
         "FILE --url URL` loads into any database). "
         "`splits.json` is the dataset's split manifest; `protocol.json` the protocol's configuration and the "
         "splits it read."), ""])


def bundle(run_dir: Path, target: Path) -> Path:
    """Write the bundle of a finished protocol run (its summary and report recomputed first).

    Raises:
        ConfigError: Not a protocol run, a phase that has not run, or a target that cannot be written.
    """
    from crm_env import __version__
    from crm_env.learning.protocol import write_report

    summary = write_report(run_dir)  # refuses a protocol whose phases have not all run
    files = _members(run_dir)
    files[VERIFY] = _verify_text(__version__, summary["simulated"]).encode()
    manifest = {"format": BUNDLE_FORMAT, "package_version": __version__,
                "files": {name: _sha256(data) for name, data in sorted(files.items())}}
    files[MANIFEST] = json.dumps(manifest, indent=1, sort_keys=True).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(buffer.getvalue())
        os.replace(partial, target)
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc}") from None
    return target


def _extract(path: Path, into: Path) -> dict[str, bytes]:
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            files = {}
            for member in tar.getmembers():
                name = member.name
                if not member.isfile() or name.startswith("/") or ".." in Path(name).parts:
                    raise ConfigError(f"{path}: unexpected member {name!r}: not a bundle made by crm-env learn bundle")
                handle = tar.extractfile(member)
                files[name] = handle.read() if handle is not None else b""
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ConfigError(f"{path}: cannot read the bundle: {exc}") from None
    for name, data in files.items():
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        (into / name).write_bytes(data)
    return files


def simulated(path: Path) -> bool:
    """Whether a bundle holds a run with simulated agents (its ``protocol.json`` says so)."""
    with tarfile.open(path, mode="r:gz") as tar:
        handle = tar.extractfile("protocol.json")
        return bool(handle is not None and json.loads(handle.read()).get("simulated"))


def verify(path: Path) -> list[str]:
    """Every problem found in a bundle (none: it verifies). See the module docstring.

    Raises:
        ConfigError: The file is not a readable bundle.
    """
    with tempfile.TemporaryDirectory(prefix="crm_env_verify_") as scratch:
        root = Path(scratch)
        files = _extract(path, root)
        if MANIFEST not in files:
            raise ConfigError(f"{path}: no {MANIFEST}: not a bundle made by crm-env learn bundle")
        manifest = json.loads(files[MANIFEST])
        listed: dict[str, str] = manifest.get("files", {})
        problems = [f"{name}: missing" for name in sorted(set(listed) - set(files))]
        problems += [f"{name}: not in the manifest" for name in sorted(set(files) - set(listed) - {MANIFEST})]
        problems += [f"{name}: its SHA-256 differs from the manifest's" for name in sorted(set(listed) & set(files))
                     if _sha256(files[name]) != listed[name]]
        try:
            problems += _recomputed(root, files)
        except (ConfigError, ValueError, KeyError, OSError) as exc:
            problems.append(f"the raw files do not recompute: {exc}")
        return problems


def _recomputed(root: Path, files: dict[str, bytes]) -> list[str]:
    from crm_env.learning.uplift import summarize_protocol
    from crm_env.learning.uplift_report import PLOTS, to_markdown

    problems = []
    summary = summarize_protocol(root)
    bundled = json.loads(files["summary.json"])
    recomputed = json.loads(json.dumps(summary))
    problems += [f"summary.json: {key} differs from its value recomputed from the raw files"
                 for key in sorted(set(bundled) | set(recomputed)) if bundled.get(key) != recomputed.get(key)]
    images = [name for name in PLOTS if name in files]
    if files.get("report.md", b"").decode().rstrip("\n") != to_markdown(summary, images).rstrip("\n"):
        problems.append("report.md differs from the report recomputed from the raw files")
    problems += _memories(root, summary)
    problems += _datasets(root)
    return problems


def _memories(root: Path, summary: dict[str, Any]) -> list[str]:
    from crm_env.backends.snapshot import parse
    from crm_env.learning.memory import fold, import_json, validate_deltas

    out = []
    for r, run in enumerate(summary["learning"]):
        directory = root / f"learning-{r}"
        deltas = import_json((directory / "memory.json").read_text(encoding="utf-8"))
        state = fold(deltas)
        if state.version != run["memory"]["version"]:
            out.append(f"learning-{r}/memory.json folds to version {state.version}, its run reports "
                       f"{run['memory']['version']}")
        name = json.loads((directory / "run.json").read_text(encoding="utf-8"))["config"]["memory_name"]
        _, memories = parse(json.loads((directory / MEMORY_SNAPSHOT).read_text(encoding="utf-8")))
        if validate_deltas(memories.get(name, []), f"learning-{r}/{MEMORY_SNAPSHOT}") != deltas:
            out.append(f"learning-{r}/{MEMORY_SNAPSHOT} does not hold the deltas of learning-{r}/memory.json")
    return out


def _datasets(root: Path) -> list[str]:
    from crm_env.datasets.loader import load
    from crm_env.eval.config import dataset_hash
    from crm_env.learning.run import LearnConfig, load_stream

    out = []
    for record_path in sorted(root.glob("*/run.json")):
        record = json.loads(record_path.read_text(encoding="utf-8"))
        config = record["config"]
        if "conversation_ids" not in record:  # a learning run: the hash of the conversations it learned from
            if dataset_hash(load_stream(LearnConfig.model_validate(config))) != record["dataset_hash"]:
                out.append(f"{record_path.parent.name}: the conversations it learned from hash differently in "
                           "this installation (another dataset version)")
            continue
        by_id = {c.conversation_id: c for c in load(config["dataset"], split=config["split"], allow_held_out=True)}
        missing = [cid for cid in record["conversation_ids"] if cid not in by_id]
        if missing:
            out.append(f"{record_path.parent.name}: conversation {missing[0]} is not in this installation's dataset")
        elif dataset_hash([by_id[cid] for cid in record["conversation_ids"]]) != record["dataset_hash"]:
            out.append(f"{record_path.parent.name}: its conversations hash differently in this installation "
                       "(another dataset version)")
    return out
