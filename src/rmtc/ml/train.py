"""A CopyCat-style image-to-image trainer that resumes exactly.

Train a network on a few (input, target) frame pairs: random patches with flips and rotations, L1 loss
(plus SSIM if asked) in the HDR curve's space, AdamW with warm-up and cosine decay, validation on
held-out frames, checkpoints with a contact sheet. Every step's metrics go to the callbacks (the
services forward them to the operations store); nothing here knows about the metadata store.

Exact resumption: the only randomness after initialisation is the data sampler's own generator, and a
checkpoint holds it with the weights, the optimizer state and the global RNG states, so on the same
device, library versions and torch thread count, ``fit`` to 2N steps equals ``fit`` to N, checkpoint,
a fresh process, :meth:`Trainer.resume`, ``fit`` to 2N, bit for bit (losses and weights). On CUDA,
cuDNN's algorithm choice may break bit-equality unless ``torch.backends.cudnn.deterministic`` is set.
"""

from __future__ import annotations

import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from rmtc.errors import InvalidInput
from rmtc.ml import losses
from rmtc.ml.checkpoint import (
    LoadedCheckpoint,
    list_checkpoints,
    load_checkpoint,
    restore_into,
    save_checkpoint,
)
from rmtc.ml.data import PairSource, PatchSampler, center_crops, fingerprint, load_frames, split_frames
from rmtc.ml.device import select_device
from rmtc.ml.nets import ImageModel, NetConfig, build_model
from rmtc.ml.progress import TrainProgress
from rmtc.ml.recipe import Recipe, parse_recipe
from rmtc.ml.sheet import contact_sheet, encode_png
from rmtc.ml.weights import atomic_write, load_model, save_weights

SHEET_SAMPLES = 4


@dataclass(frozen=True, slots=True)
class CheckpointEvent:
    """What :meth:`TrainCallback.on_checkpoint` receives; the sheet is ``H x W x 3`` display floats."""

    step: int
    path: Path
    contact_sheet: np.ndarray | None
    contact_sheet_path: Path | None
    validation: Mapping[str, float]


class TrainCallback(Protocol):
    """Receives what the trainer reports; subclass :class:`Callback` to implement only some of it.

    Called on the training thread, in order; an exception stops training and propagates.
    """

    def on_step(self, step: int, metrics: Mapping[str, float]) -> None:
        """After every step: ``loss``, ``l1``, ``lr``, ``seconds`` (and ``ssim``, ``grad_norm``)."""

    def on_validation(self, step: int, metrics: Mapping[str, float]) -> None:
        """After each validation: ``val_loss`` and ``val_<metric>`` for the recipe's ``val_metrics``."""

    def on_checkpoint(self, event: CheckpointEvent) -> None:
        """After a checkpoint directory (and its contact sheet) is written."""


class Callback:
    """A :class:`TrainCallback` that does nothing: override the methods you need."""

    def on_step(self, step: int, metrics: Mapping[str, float]) -> None:
        return None

    def on_validation(self, step: int, metrics: Mapping[str, float]) -> None:
        return None

    def on_checkpoint(self, event: CheckpointEvent) -> None:
        return None


#: ``writer(stem, sheet) -> written path``; the default writes ``stem.png``.
SheetWriter = Callable[[Path, np.ndarray], Path]


def write_png_sheet(stem: Path, sheet: np.ndarray) -> Path:
    path = stem.with_suffix(".png")
    atomic_write(path, encode_png(sheet))
    return path


@dataclass(slots=True)
class TrainResult:
    step: int
    losses: list[float] = field(default_factory=list)
    validation: dict[str, float] = field(default_factory=dict)
    checkpoints: list[Path] = field(default_factory=list)
    weights: Path | None = None
    stopped: bool = False


def lr_at(step: int, total: int, base: float, warmup: int, min_ratio: float) -> float:
    """The learning rate for step ``step`` (0-based): linear warm-up, then cosine to ``min_ratio * base``."""
    warmup = min(warmup, total)
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * (min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


class Trainer:
    """Trains one model from a recipe and a source of frame pairs.

    Args:
        recipe: what to train, how long, how (see :mod:`rmtc.ml.recipe`).
        source: the frame pairs; all are loaded and checked here, before any training.
        out_dir: where checkpoints (``checkpoints/ckpt-NNNNNN``), contact sheets and the final
            ``weights.safetensors`` go; ``None`` writes nothing.
        callbacks: receive metrics and checkpoint events.
        device: overrides ``recipe.train.device``. progress: overrides ``recipe.train.progress``.
        init_weights: a weights file to start from (fine-tuning); overrides ``recipe.model.init_weights``.
        sheet_writer: writes contact sheets (default: PNG).

    Raises:
        InvalidInput: bad frames (sizes, channels, NaN/Inf, none), channel counts that contradict the
            recipe, initial weights of another shape, a device that is not there.
    """

    def __init__(
        self,
        recipe: Recipe,
        source: PairSource,
        out_dir: str | os.PathLike[str] | None = None,
        *,
        callbacks: Sequence[TrainCallback] = (),
        device: str | torch.device | None = None,
        progress: bool | None = None,
        init_weights: str | os.PathLike[str] | None = None,
        sheet_writer: SheetWriter | None = None,
        _restore: LoadedCheckpoint | None = None,
    ):
        self.recipe = recipe
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.callbacks = list(callbacks)
        self.device = select_device(device if device is not None else recipe.train.device)
        self.show_progress = recipe.train.progress if progress is None else progress
        self.sheet_writer = sheet_writer or write_png_sheet
        self._stop = threading.Event()
        d, m, t = recipe.data, recipe.model, recipe.train

        held = d.validation_count if d.validation_frames else min(d.validation_count, len(source) - 1)
        self.train_indices, self.val_indices = split_frames(len(source), d.validation_frames, held)
        frames, stats = load_frames(source, self.train_indices, m.scale)
        val_frames = load_frames(source, self.val_indices, m.scale)[0] if self.val_indices else []
        for name, given, found in (
            ("in_channels", m.in_channels, stats.in_channels),
            ("out_channels", m.out_channels, stats.out_channels),
        ):
            if given and given != found:
                raise InvalidInput(
                    f"recipe.model.{name} is {given} but the frames have {found} channel(s)",
                    hint=f"set {name} = {found} (or 0 to take it from the frames)",
                )
        if val_frames and (val_frames[0][0].shape[2], val_frames[0][1].shape[2]) != (
            stats.in_channels,
            stats.out_channels,
        ):
            raise InvalidInput(
                f"the validation frames have other channel counts than {source.label(self.train_indices[0])}",
                hint="every pair must have the same channels",
            )
        self.config = NetConfig(
            m.architecture, m.size, stats.in_channels, stats.out_channels, m.scale, m.residual, m.hdr
        )
        self.fingerprint = fingerprint([*frames, *val_frames])
        self.sampler = PatchSampler(frames, d.patch_size, m.scale, d.augment)
        self.val_crops = center_crops(val_frames, d.validation_size, m.scale)
        self.sheet_crops = center_crops((val_frames or frames)[:SHEET_SAMPLES], t.contact_sheet_size, m.scale)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(t.seed)
            self.model: ImageModel = build_model(self.config)
        start = init_weights if init_weights is not None else (m.init_weights or None)
        if start is not None and _restore is None:
            self._load_initial(Path(start))
        self.model.to(self.device)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=t.learning_rate, weight_decay=t.weight_decay
        )
        self.generator = torch.Generator().manual_seed(t.seed + 1)
        self.step = 0
        self.validation: dict[str, float] = {}
        if _restore is not None:
            self._apply(_restore)

    @classmethod
    def resume(
        cls,
        checkpoint: str | os.PathLike[str],
        source: PairSource,
        out_dir: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> Trainer:
        """Continue a run from a checkpoint directory, on the same frames (checked by fingerprint).

        ``options`` are :class:`Trainer`'s keyword arguments. Restores torch's, NumPy's and Python's
        global RNG states as they were at the checkpoint.

        Raises:
            IntegrityError: the checkpoint is damaged (names the file). InvalidInput: the frames differ.
        """
        ckpt = load_checkpoint(checkpoint)
        recipe = parse_recipe(ckpt.trainer["recipe"], source=f"{ckpt.path} (recorded recipe)")
        return cls(recipe, source, out_dir, _restore=ckpt, **options)

    def _apply(self, ckpt: LoadedCheckpoint) -> None:
        if ckpt.config != self.config:
            raise InvalidInput(
                f"checkpoint {ckpt.path} holds a {ckpt.config} model; these frames make {self.config}",
                hint="resume on the frames the run was trained on",
            )
        if ckpt.trainer.get("fingerprint") != self.fingerprint:
            raise InvalidInput(
                f"the frames differ from those checkpoint {ckpt.path} was trained on",
                hint="resume on the same dataset version",
            )
        restore_into(ckpt, self.model, self.optimizer, self.generator)
        self.step = ckpt.step
        self.validation = dict(ckpt.trainer.get("validation", {}))

    def _load_initial(self, path: Path) -> None:
        start = load_model(path)
        if replace(start.config, hdr=self.config.hdr) != self.config:
            raise InvalidInput(
                f"the initial weights {path} are of a {start.config} model; the recipe makes {self.config}",
                hint="fine-tune from weights of the same architecture, size, channels and scale",
            )
        self.model.load_state_dict(start.state_dict())

    def stop(self) -> None:
        """Ask :meth:`fit` to stop after the current step (thread-safe); it checkpoints and returns."""
        self._stop.set()

    def fit(self, until: int | None = None) -> TrainResult:
        """Train up to step ``until`` (default: the recipe's ``steps``); returns what happened.

        Validation runs every ``validate_every`` steps and at the end; checkpoints every
        ``checkpoint_every`` steps and at the end (when ``out_dir`` is set); the final weights file is
        written when the recipe's last step is reached.
        """
        t = self.recipe.train
        target = min(until if until is not None else t.steps, t.steps)
        result = TrainResult(self.step, validation=dict(self.validation))
        self._stop.clear()
        with TrainProgress(self.show_progress, total=t.steps, done=self.step) as bar:
            while self.step < target and not self._stop.is_set():
                metrics = self.train_step()
                result.losses.append(metrics["loss"])
                bar.update(self.step, metrics["loss"])
                last = self.step == target or self._stop.is_set()
                if self.val_crops and (last or (t.validate_every and self.step % t.validate_every == 0)):
                    result.validation = self.validate()
                if self.out_dir is not None and (
                    last or (t.checkpoint_every and self.step % t.checkpoint_every == 0)
                ):
                    result.checkpoints.append(self.save_checkpoint())
        result.step = self.step
        result.stopped = self.step < target
        if self.out_dir is not None and self.step == t.steps:
            result.weights = save_weights(
                self.model, self.out_dir / "weights.safetensors", {"step": str(self.step)}
            )
        return result

    def train_step(self) -> dict[str, float]:
        """One optimisation step; returns (and reports) its metrics."""
        t, started = self.recipe.train, time.perf_counter()
        lr = lr_at(self.step, t.steps, t.learning_rate, t.warmup_steps, t.min_lr_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x, y = self.sampler.sample(self.recipe.data.batch_size, self.generator)
        x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        self.model.train()
        pred, target = self.model.net(self.model.encode(x)), self.model.encode(y)
        l1 = losses.l1(pred, target)
        loss = l1
        metrics: dict[str, float] = {}
        if t.loss == "l1+ssim":
            s = losses.ssim(pred, target)
            loss = l1 + t.ssim_weight * (1.0 - s)
            metrics["ssim"] = float(s.detach())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if t.grad_clip > 0:
            metrics["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.grad_clip))
        self.optimizer.step()
        self.step += 1
        value = float(loss.detach())
        if not math.isfinite(value):
            raise InvalidInput(
                f"training diverged at step {self.step}: the loss is {value}",
                hint="lower recipe.train.learning_rate or set recipe.train.grad_clip",
            )
        metrics.update(loss=value, l1=float(l1.detach()), lr=lr, seconds=time.perf_counter() - started)
        for cb in self.callbacks:
            cb.on_step(self.step, metrics)
        return metrics

    @torch.no_grad()
    def predict_crops(self, crops: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> list[torch.Tensor]:
        """The model's linear predictions for ``1 x C x H x W`` crops, on the CPU."""
        self.model.eval()
        return [self.model(x.to(self.device)).float().cpu() for x, _ in crops]

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Metrics on the held-out frames' centre crops (empty without held-out frames); reported."""
        if not self.val_crops:
            return {}
        t = self.recipe.train
        sums: dict[str, float] = {}
        for pred, (_, y) in zip(self.predict_crops(self.val_crops), self.val_crops, strict=True):
            pz, tz = self.model.encode(pred), self.model.encode(y)
            vals = {"loss": float(losses.l1(pz, tz))}
            if t.loss == "l1+ssim":
                vals["loss"] += t.ssim_weight * (1.0 - float(losses.ssim(pz, tz)))
            for name in t.val_metrics:
                if name == "l1":
                    vals["l1"] = float(losses.l1(pz, tz))
                elif name == "psnr":
                    vals["psnr"] = losses.psnr(pz, tz)
                elif name == "ssim":
                    vals["ssim"] = float(losses.ssim(pz, tz))
                else:
                    vals["iou"] = losses.iou(pred, y)
            for k, v in vals.items():
                sums[f"val_{k}"] = sums.get(f"val_{k}", 0.0) + v
        self.validation = {k: v / len(self.val_crops) for k, v in sums.items()}
        for cb in self.callbacks:
            cb.on_validation(self.step, self.validation)
        return dict(self.validation)

    def make_contact_sheet(self) -> np.ndarray:
        """Input / prediction / target for up to four held-out (else training) centre crops."""
        preds = self.predict_crops(self.sheet_crops)
        return contact_sheet(
            [x[0].numpy() for x, _ in self.sheet_crops],
            [p[0].numpy() for p in preds],
            [y[0].numpy() for _, y in self.sheet_crops],
        )

    def trainer_state(self) -> dict[str, Any]:
        """The JSON-able state a checkpoint keeps besides tensors and RNGs."""
        return {
            "recipe": self.recipe.to_dict(),
            "fingerprint": self.fingerprint,
            "validation": self.validation,
            "train_indices": self.train_indices,
            "val_indices": self.val_indices,
            "device": str(self.device),
            "torch": torch.__version__,
        }

    def save_checkpoint(self, directory: str | os.PathLike[str] | None = None) -> Path:
        """Write a checkpoint (default ``out_dir/checkpoints/ckpt-NNNNNN``), its contact sheet, and report."""
        if directory is None:
            if self.out_dir is None:
                raise InvalidInput("this trainer has no output directory", hint="pass out_dir or a directory")
            directory = self.out_dir / "checkpoints" / f"ckpt-{self.step:06d}"
        path = save_checkpoint(
            directory,
            model=self.model,
            optimizer=self.optimizer,
            generator=self.generator,
            step=self.step,
            trainer=self.trainer_state(),
        )
        sheet, sheet_path = None, None
        if self.recipe.train.contact_sheet:
            sheet = self.make_contact_sheet()
            if self.out_dir is not None:
                sheet_path = self.sheet_writer(
                    self.out_dir / "contact_sheets" / f"step-{self.step:06d}", sheet
                )
        keep = self.recipe.train.keep_checkpoints
        if keep and directory is not None:
            for old in list_checkpoints(path.parent)[:-keep]:
                if old != path:
                    shutil.rmtree(old)
        event = CheckpointEvent(self.step, path, sheet, sheet_path, dict(self.validation))
        for cb in self.callbacks:
            cb.on_checkpoint(event)
        return path
