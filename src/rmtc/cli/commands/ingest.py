"""``rmtc ingest``: files, folders and frame sequences into assets."""

from __future__ import annotations

import typer

from rmtc.cli import output
from rmtc.cli.state import tracker


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


class _Bar:
    """Adapts a Rich progress bar to the ingest service's Progress protocol (Rich's progress module is
    imported only when a bar is drawn: every other ``rmtc`` command starts without it)."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=output.err_console,
            transient=True,
        )
        self._files = self._bytes = None

    def start(self, files: int, total_bytes: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task("ingest", total=total_bytes)
        self._total_files = files

    def advance(self, files: int, nbytes: int) -> None:
        self._progress.advance(self._task, nbytes)

    def finish(self) -> None:
        self._progress.stop()


def ingest(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(..., help="Files, folders or sequences (plate.####.exr, %04d, @@@@)."),
    frames: str | None = typer.Option(None, "--frames", "-f", help="Frame range, e.g. 1001-1100 or 1-100x2."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Stage the assets into this dataset."),
    talent: list[str] = typer.Option([], "--talent", "-t", help="A talent the footage depicts (repeatable)."),
    license: list[str] = typer.Option([], "--license", "-l", help="A licence governing it (repeatable)."),
    by_reference: bool = typer.Option(
        False, "--by-reference", help="Record path and hash without copying (for footage too large to copy)."
    ),
    no_progress: bool = typer.Option(False, "--no-progress", help="Do not draw a progress bar."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Ingest files as assets: hashed, copied (or referenced), tagged with talent and licences."""
    t = tracker(ctx)
    show_bar = not (no_progress or json_out) and output.err_console.is_terminal
    report = t.ingestor.ingest(
        paths,
        frames=frames,
        by_reference=by_reference,
        talent=talent,
        licenses=license,
        dataset=dataset,
        progress=_Bar() if show_bar else None,
    )
    if json_out:
        output.print_json(
            {
                "files": len(report.files),
                "created": report.created,
                "existing": report.existing,
                "bytes": report.bytes,
                "sequences": report.sequences,
                "failed": [{"path": p, "error": e} for p, e in report.failed],
                "assets": [
                    {
                        "id": str(f.asset),
                        "kind": "asset",
                        "path": str(f.path),
                        "frame": f.frame,
                        "created": f.created,
                    }
                    for f in report.files
                ],
            }
        )
    else:
        mode = "by reference" if by_reference else "by copy"
        output.console.print(
            f"ingested {len(report.files)} file(s) {mode}: {report.created} new, {report.existing} already "
            f"known, {report.bytes} bytes"
        )
        for seq in report.sequences:
            output.console.print(f"  sequence {seq}")
        if dataset:
            output.console.print(
                f"  staged into dataset {dataset!r}: snapshot with `rmtc dataset snapshot {dataset}`"
            )
    for path, error in report.failed:
        output.err_console.print(f"error: {path}: {error}", markup=False)
    if report.failed:
        raise typer.Exit(1)
