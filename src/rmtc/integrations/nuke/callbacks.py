"""The Nuke side: render callbacks that check and record renders through Inference nodes.

``menu.py`` (written by ``rmtc nuke export``) calls :func:`install`, which registers, for Write nodes:

- before a render: every Inference node upstream must run a model version that is not blocked and holds
  the ``inference`` right, else the render is stopped with the reason (Nuke shows the exception);
- after each frame: the frame number, the file written and the files read upstream are noted;
- after the render: one Inference per Inference node upstream is recorded in this Nuke session's
  :class:`~rmtc.core.entities.Session` (created on the first render), through ``rmtc.open`` on the
  settings' store: a project folder, or the rmtc service's URL.

Only this module touches the ``nuke`` module, and only through the object :func:`install` is given (the
real one inside Nuke; a stand-in in tests). The logic lives in :mod:`rmtc.integrations.nuke.renders`.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmtc.core.entities import Session
from rmtc.integrations.nuke import renders

SETTINGS_FORMAT = "rmtc.NukeSettings/1"


@dataclass(frozen=True)
class Settings:
    """Where renders are recorded (``RMTC_STORE`` overrides the exported store) and as whom."""

    store: str | None = None
    project: str = "default"
    user: str | None = None

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None) -> Settings:
        data: dict[str, Any] = {}
        if path is not None and Path(path).is_file():
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            store=os.environ.get("RMTC_STORE") or data.get("store"),
            project=os.environ.get("RMTC_PROJECT") or data.get("project") or "default",
            user=os.environ.get("RMTC_USER") or data.get("user"),
        )


class NukeRecorder:
    """Holds one Nuke session's state: the render logs in progress and the rmtc session."""

    def __init__(self, nuke: Any, settings: Settings):
        self.nuke = nuke
        self.settings = settings
        self.logs: dict[str, renders.RenderLog] = {}
        self.session: Session | None = None
        self.recorded: list[str] = []

    def install(self) -> None:
        self.nuke.addBeforeRender(self.before_render, nodeClass="Write")
        self.nuke.addAfterFrameRender(self.after_frame, nodeClass="Write")
        self.nuke.addAfterRender(self.after_render, nodeClass="Write")
        menu = self.nuke.menu("Nuke").addMenu("rmtc")
        menu.addCommand("Check Inference models", self.check_all)

    def _open(self) -> Any:
        import rmtc

        return rmtc.open(self.settings.store, user=self.settings.user, project=self.settings.project)

    def _inference_nodes(self, write: Any) -> list[renders.InferenceNode]:
        return [renders.inference_of(n) for n in renders.upstream(write, "Inference")]

    def before_render(self) -> None:
        """Stop the render (raise) when an Inference node upstream may not run."""
        write = self.nuke.thisNode()
        nodes = self._inference_nodes(write)
        self.logs[write.name()] = renders.RenderLog(write.name())
        if not nodes:
            return
        with self._open() as t:
            for node in nodes:
                try:
                    renders.check(t, node)
                except Exception as exc:
                    raise RuntimeError(f"rmtc: {node.name}: {_one_line(exc)}") from exc

    def after_frame(self) -> None:
        write = self.nuke.thisNode()
        log = self.logs.setdefault(write.name(), renders.RenderLog(write.name()))
        reads = renders.upstream(write, "Read")
        log.add(
            int(self.nuke.frame()),
            self.nuke.filename(write, self.nuke.REPLACE),
            [self.nuke.filename(r, self.nuke.REPLACE) for r in reads],
        )

    def after_render(self) -> None:
        """Record the finished render as one Inference per Inference node upstream."""
        write = self.nuke.thisNode()
        log = self.logs.pop(write.name(), None)
        nodes = self._inference_nodes(write)
        if log is None or not nodes or not log.outputs:
            return
        with self._open() as t:
            if self.session is None:
                self.session = t.new(
                    Session,
                    f"nuke-{t.user}",
                    application="nuke",
                    host=socket.gethostname(),
                    attrs={"nuke": getattr(self.nuke, "NUKE_VERSION_STRING", ""), "pid": os.getpid()},
                )
            script = str(self.nuke.root().name())
            for node in nodes:
                outcome = renders.record(t, node, log, self.session, script=script)
                if outcome is not None:
                    self.recorded.append(str(outcome.inference.id))

    def check_all(self) -> None:
        """The menu command: check every Inference node of the script and say what it found."""
        lines = []
        with self._open() as t:
            for n in self.nuke.allNodes("Inference"):
                node = renders.inference_of(n)
                try:
                    version = renders.check(t, node)
                    lines.append(f"{node.name}: {version.label} may run")
                except Exception as exc:
                    lines.append(f"{node.name}: {_one_line(exc)}")
        self.nuke.message("\n".join(lines) or "no Inference nodes")


def _one_line(exc: BaseException) -> str:
    one_line = getattr(exc, "one_line", None)
    return str(one_line()) if callable(one_line) else str(exc)


def install(settings: str | os.PathLike[str] | Settings | None = None, nuke: Any = None) -> NukeRecorder:
    """Register the render callbacks and the rmtc menu; returns the recorder (its state, for tests)."""
    if nuke is None:
        import nuke  # type: ignore[no-redef]  # only inside Nuke
    loaded = settings if isinstance(settings, Settings) else Settings.load(settings)
    recorder = NukeRecorder(nuke, loaded)
    recorder.install()
    return recorder
