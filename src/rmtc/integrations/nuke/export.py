"""``rmtc nuke export MODEL_VERSION DIR``: everything Nuke needs to run a published model, and to report
back what it rendered.

Writes into ``DIR``:

- ``NAME_vN.pt``: the version's TorchScript (scripted, one float ``1 x Cin x H x W`` tensor in, one out),
  checked against Nuke's contract before it is written;
- ``make_cat.py``: run with NukeX to turn the ``.pt`` into ``NAME_vN.cat`` with CatFileCreator (channel
  names, model id, output scale and the model's knobs filled in);
- ``NAME_vN.nk``: a snippet with a ready Inference node loading that ``.cat``, tagged with the version;
- ``nuke/``: a plug-in folder for ``NUKE_PATH`` (``menu.py`` and ``rmtc_settings.json``) whose callbacks
  check every render through an Inference node and record it back to rmtc as an Inference;
- ``README.txt``: these steps.

The version must not be blocked and must hold the ``inference`` right: exporting is preparing to run it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmtc.core.entities import ModelVersion
from rmtc.integrations.nuke import templates
from rmtc.services.ml.files import blob_file, copy_blob
from rmtc.services.ml.models import usable_version
from rmtc.services.ml.nuke import NukeRecords

if TYPE_CHECKING:
    from rmtc.api.tracker import RefLike, Tracker


@dataclass
class NukeExport:
    model_version: ModelVersion
    directory: Path
    torchscript: Path
    cat: Path
    cat_script: Path
    snippet: Path
    plugin: Path
    contract: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "model_version": {"id": str(self.model_version.id), "label": self.model_version.label},
            "directory": str(self.directory),
            "torchscript": str(self.torchscript),
            "cat": str(self.cat),
            "cat_script": str(self.cat_script),
            "snippet": str(self.snippet),
            "plugin": str(self.plugin),
            "contract": self.contract,
        }


def file_stem(version: ModelVersion) -> str:
    """A file name for a version that any filesystem and Nuke's node names take."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", version.name).strip("_") + f"_v{version.version}"


def export_for_nuke(
    t: Tracker, ref: RefLike, directory: str | Path, *, store: str | None = None, **convert_options: Any
) -> NukeExport:
    """Write the ``.pt``, the CatFileCreator script, the ``.nk`` snippet and the plug-in folder.

    Args:
        store: where the Nuke side records renders (a project folder or the service URL); by default
            this project's folder when it has one.

    Raises:
        RightsViolation: the version is blocked or may not be used for inference. InvalidInput: its
            TorchScript does not fit Nuke (a channel count Nuke cannot map, a wrong signature).
    """
    from rmtc.ml.nukecheck import check_nuke_contract, default_nuke_channels

    version = usable_version(t, ref, action="nuke export")
    t.rights.require(version, "inference", action="nuke export")
    version, digest = NukeRecords(t).torchscript_for(version, **convert_options)
    with blob_file(t, digest, ".pt") as checked:
        contract = check_nuke_contract(checked)
    channels_in = default_nuke_channels(contract.in_channels, output=False)
    channels_out = default_nuke_channels(contract.out_channels, output=True)
    out = Path(directory).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    stem = file_stem(version)
    pt, cat = copy_blob(t, digest, out / f"{stem}.pt"), out / f"{stem}.cat"
    cat_script = out / "make_cat.py"
    cat_script.write_text(
        templates.cat_script(
            torchscript=str(pt),
            cat=str(cat),
            channels_in=channels_in,
            channels_out=channels_out,
            model_id=stem,
            scale=contract.scale,
            knobs=dict(contract.metadata.get("knobs") or {}),
        ),
        encoding="utf-8",
    )
    snippet = out / f"{stem}.nk"
    snippet.write_text(
        templates.inference_nk(
            cat=str(cat),
            node_name=f"rmtc_{stem}",
            model_version_id=str(version.id),
            model_label=version.label,
            nuke_version=contract.min_nuke_version,
        ),
        encoding="utf-8",
    )
    plugin = out / "nuke"
    plugin.mkdir(exist_ok=True)
    location = store if store is not None else (str(t.root) if t.root is not None else t.store.url)
    settings = plugin / "rmtc_settings.json"
    settings.write_text(
        templates.settings_json(
            store=location, project=t.project, model_version=str(version.id), cat=str(cat)
        ),
        encoding="utf-8",
    )
    (plugin / "menu.py").write_text(
        templates.menu_py(settings_file=str(settings), rmtc_path=_rmtc_site()), encoding="utf-8"
    )
    (out / "README.txt").write_text(_readme(version, pt, cat, snippet, plugin), encoding="utf-8")
    facts = contract.to_dict()
    facts.pop("metadata", None)
    t.record(action="nuke.export", target=version, detail={"directory": str(out), **facts})
    return NukeExport(version, out, pt, cat, cat_script, snippet, plugin, facts)


def _rmtc_site() -> str:
    """The folder rmtc is imported from, for Nukes whose Python does not have it installed."""
    import rmtc

    return str(Path(rmtc.__file__).resolve().parents[1])


def _readme(version: ModelVersion, pt: Path, cat: Path, snippet: Path, plugin: Path) -> str:
    return f"""{version.label} for Nuke (exported by rmtc)

1. Make the .cat (NukeX, which has CatFileCreator):
     NukeX -t {pt.parent / "make_cat.py"}
2. Record it, so renders lead back to {version.label}:
     rmtc nuke register-cat {cat} --model-version {version.id}
3. Record renders: add {plugin} to NUKE_PATH (its menu.py installs the callbacks).
4. Paste {snippet.name} into your script: an Inference node reading {cat.name}.

TorchScript: {pt.name} (Nuke 15.1 or later loads PyTorch 2 TorchScript).
"""
