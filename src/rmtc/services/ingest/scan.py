"""Turn what the user named into the files to ingest, grouped into frame sequences.

Accepts plain files, folders (walked recursively), and frame sequences in the VFX spellings
(``plate.####.exr``, ``plate.%04d.exr``, ``plate.@@@@.exr``, ``plate.1001-1100####.exr``) with an
optional frame range (``1001-1100``, ``1-100x2``). Sequence parsing is ``fileseq``'s, the library
pipelines already use; every ``#`` or ``@`` is one digit of padding, as in Nuke.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import fileseq

from rmtc.errors import InvalidInput, NotFound

PAD = fileseq.PAD_STYLE_HASH1
_PATTERN = re.compile(r"(#+|@+|%0?\d*d|\$F\d*)")
#: Folders never walked into: rmtc's own project folder and version-control metadata.
_SKIP_DIRS = frozenset({".rmtc", ".git", "__pycache__"})


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file to ingest; ``sequence`` is its sequence pattern (``/abs/plate.####.exr``) if it has one."""

    path: Path
    sequence: str | None = None
    frame: int | None = None


def is_pattern(text: str) -> bool:
    return bool(_PATTERN.search(Path(text).name))


def parse_frames(text: str) -> fileseq.FrameSet:
    """A frame range as VFX writes it (``1001-1100``, ``1-100x2``, ``1,5,9-12``)."""
    try:
        frames = fileseq.FrameSet(text.strip())
    except (fileseq.ParseException, ValueError):
        raise InvalidInput(
            f"frame range {text!r} cannot be read", hint="write it as 1001-1100 or 1-100x2"
        ) from None
    if not len(frames):
        raise InvalidInput(f"frame range {text!r} is empty", hint="give at least one frame")
    return frames


def scan(inputs: Sequence[str | os.PathLike[str]], *, frames: str | None = None) -> list[SourceFile]:
    """Expand inputs into files, each once, in a stable order.

    Raises:
        NotFound: a named path, or every frame of a named sequence, does not exist.
        InvalidInput: a frame range is given without a sequence, or frames of a range are missing.
    """
    if not inputs:
        raise InvalidInput("nothing to ingest", hint="name files, folders or frame sequences")
    frame_set = parse_frames(frames) if frames else None
    seen: set[str] = set()
    out: list[SourceFile] = []
    for raw in inputs:
        for src in _expand(str(raw), frame_set):
            key = str(src.path)
            if key not in seen:
                seen.add(key)
                out.append(src)
    return out


def _expand(raw: str, frame_set: fileseq.FrameSet | None) -> Iterator[SourceFile]:
    if is_pattern(raw):
        yield from _expand_sequence(raw, frame_set)
        return
    path = Path(raw).expanduser()
    if not path.exists():
        raise NotFound(
            f"{raw!r} does not exist", hint="check the path, or quote a pattern such as 'plate.####.exr'"
        )
    if frame_set is not None and path.is_file():
        raise InvalidInput(f"--frames was given but {raw!r} is a single file", hint="name a sequence pattern")
    if path.is_dir():
        yield from _walk(path.resolve())
    elif path.is_file():
        yield SourceFile(path.resolve())
    else:
        raise InvalidInput(
            f"{raw!r} is not a regular file or folder", hint="name files, folders or sequences"
        )


def _expand_sequence(raw: str, frame_set: fileseq.FrameSet | None) -> Iterator[SourceFile]:
    try:
        seq = fileseq.FileSequence(str(Path(raw).expanduser().resolve()), pad_style=PAD)
    except (fileseq.ParseException, ValueError) as exc:
        raise InvalidInput(
            f"sequence {raw!r} cannot be read: {exc}", hint="write it as plate.####.exr"
        ) from None
    wanted = frame_set or seq.frameSet()
    if wanted is None:
        try:
            seq = fileseq.findSequenceOnDisk(str(seq), pad_style=PAD)
        except fileseq.FileSeqException:
            raise NotFound(f"no frames of {raw!r} exist", hint="check the folder and the padding") from None
        wanted = seq.frameSet()
    pattern = _pattern_of(seq)
    missing = []
    for frame in wanted:
        path = Path(seq.frame(frame))
        if path.is_file():
            yield SourceFile(path, pattern, int(frame))
        else:
            missing.append(int(frame))
    if missing:
        shown = fileseq.FrameSet(missing).frange
        if len(missing) == len(wanted):
            raise NotFound(
                f"no frames of {raw!r} exist in {wanted.frange}", hint="check the range and padding"
            )
        raise InvalidInput(
            f"frames {shown} of {raw!r} are missing",
            hint="render them, or narrow --frames to the frames that exist",
        )


def _walk(root: Path) -> Iterator[SourceFile]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        yield from group_files(Path(dirpath), sorted(filenames))


def group_files(folder: Path, names: Iterable[str]) -> Iterator[SourceFile]:
    """Files of one folder, with those that form frame sequences (two or more frames) grouped."""
    names = list(names)
    if not names:
        return
    base = str(folder).rstrip("/") + "/"
    grouped: set[str] = set()
    for seq in fileseq.FileSequence.yield_sequences_in_list([base + n for n in names], pad_style=PAD):
        frames = seq.frameSet()
        if frames is None or len(frames) < 2:
            continue
        pattern = _pattern_of(seq)
        start = len(seq.dirname())
        for frame in frames:
            name = seq.frame(frame)[start:]
            grouped.add(name)
            yield SourceFile(folder / name, pattern, int(frame))
    for name in names:
        if name not in grouped:
            yield SourceFile(folder / name)


def _pattern_of(seq: fileseq.FileSequence) -> str:
    return f"{seq.dirname()}{seq.basename()}{'#' * max(seq.zfill(), 1)}{seq.extension()}"
