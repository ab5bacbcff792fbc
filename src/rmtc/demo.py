"""``make demo``: the pipeline end to end on generated footage, in a fresh project.

Generates plates showing two talents, records the talents and their agreements, ingests the plates
tagged with both, snapshots a dataset, runs a real analysis over every frame as a tracked run with
metrics, and prints the trace. Every step goes through the same CLI a user types, so the demo is also a
smoke test of it. Ends by saying what to open next.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from rich.console import Console

console = Console(highlight=False)


def _cli(store: Path, *args: str) -> None:
    from rmtc.cli.main import main

    argv = ["--store", str(store), *args]
    console.print(f"\n[bold]$ rmtc {' '.join(args)}[/]")
    code = main(argv)
    if code != 0:
        raise SystemExit(f"demo step failed: rmtc {' '.join(args)} (exit {code})")


def analyse_frames(store: Path) -> str:
    """A curation run over the dataset: exposure statistics of every frame, logged per frame."""
    import numpy as np

    import rmtc
    from rmtc.vfx.imageio import read_image

    with rmtc.open(store) as t:
        version = t.resolve("dataset:demo-plates@latest")
        members = t.datasets.members(version)
        with t.runs.start(
            "exposure-check", run_type="curation", params={"clip_level": 1.0}, inputs=[version]
        ) as run:
            for step, member in enumerate(members):
                asset = t.get(member.asset)
                path = t.blobs.local_path(asset.content_hash or "") or asset.attrs.get("uri")
                pixels = read_image(str(path)).pixels.astype(np.float32)
                rgb = pixels[..., :3]
                luminance = rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
                run.log_metrics(
                    {
                        "mean_luminance": float(luminance.mean()),
                        "clipped_fraction": float((rgb > 1.0).any(axis=-1).mean()),
                    },
                    step=step,
                )
        return str(run.id)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0] if args else "demo").resolve()
    if root.exists():
        shutil.rmtree(root)
    footage, store = root / "footage", root / "project"
    from rmtc.vfx.synthetic import make_plates

    console.print(f"[bold]generating plates for two talents in {footage}[/]")
    manifest = make_plates(footage, frames=range(1001, 1013), size=(256, 256))
    sequences = {s.talent or s.role: s.pattern for s in manifest.sequences if s.role == "plate"}

    _cli(store, "init", str(store))
    for talent in sequences:
        _cli(store, "talent", "add", talent)
        _cli(
            store,
            "license",
            "add",
            f"{talent}-agreement",
            "--grants",
            "training",
            "--grants",
            "inference",
            "--party",
            talent,
            "--finish",
            "2028-12-31",
        )
    for talent, pattern in sequences.items():
        _cli(
            store,
            "ingest",
            pattern,
            "--talent",
            talent,
            "--license",
            f"{talent}-agreement",
            "--dataset",
            "demo-plates",
            "--no-progress",
        )
    _cli(store, "dataset", "snapshot", "demo-plates", "-m", "both talents, all frames")
    console.print("\n[bold]analysing every frame as a tracked run[/]")
    run_id = analyse_frames(store)
    _cli(store, "run", "show", run_id)
    _cli(store, "trace", "dataset:demo-plates@1", "--up", "--kinds", "party", "--kinds", "license")
    _cli(store, "trace", run_id, "--up", "--depth", "1")
    _cli(store, "verify")

    exe = Path(sys.executable).parent / "rmtc"
    console.print(
        "\n[bold green]demo complete.[/] Next, try:\n"
        f"  cd {store}\n"
        f"  {exe} ls asset                  # every frame, hashed and tagged\n"
        f"  {exe} dataset show demo-plates@1\n"
        f"  {exe} trace {run_id[:8]}            # the run, up to the talents and licences\n"
        f"  {exe} log                       # the audit log\n"
        f"Footage: {footage}\nProject: {store / '.rmtc'}",
        soft_wrap=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
