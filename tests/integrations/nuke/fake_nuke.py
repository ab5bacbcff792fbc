# ruff: noqa: N802, N803 - the stand-in keeps Nuke's own camelCase names
"""A minimal stand-in for Nuke's ``nuke`` module: enough of its API to drive rmtc's Nuke glue.

Nuke cannot run here, so this records what the glue does (knob values, button presses, registered
callbacks, menu commands, messages) and plays a render the way Nuke calls back during one: before the
render, after each frame (with ``thisNode`` and ``frame`` set), after the render. It implements only the
calls rmtc makes, with Nuke's names and signatures.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPLACE = 1


class Knob:
    def __init__(self, name: str, value: Any = None, on_execute: Callable[[], None] | None = None):
        self._name = name
        self._value = value
        self.on_execute = on_execute
        self.executed = 0

    def name(self) -> str:
        return self._name

    def value(self) -> Any:
        return self._value

    def getValue(self) -> Any:
        return self._value

    def setValue(self, value: Any) -> bool:
        self._value = value
        return True

    def evaluate(self) -> Any:
        return self._value

    def execute(self) -> None:
        self.executed += 1
        if self.on_execute is not None:
            self.on_execute()


class Node:
    def __init__(self, node_class: str, name: str, knobs: dict[str, Any] | None = None):
        self._class = node_class
        self._name = name
        self._knobs: dict[str, Knob] = {"name": Knob("name", name)}
        for key, value in (knobs or {}).items():
            self._knobs[key] = value if isinstance(value, Knob) else Knob(key, value)
        self.inputs: list[Node] = []

    def Class(self) -> str:
        return self._class

    def name(self) -> str:
        return self._name

    def knob(self, name: str) -> Knob | None:
        return self._knobs.get(name)

    def knobs(self) -> dict[str, Knob]:
        return dict(self._knobs)

    def __getitem__(self, name: str) -> Knob:
        return self._knobs[name]

    def addKnob(self, knob: Knob) -> None:
        self._knobs[knob.name()] = knob

    def setInput(self, index: int, node: Node) -> None:
        while len(self.inputs) <= index:
            self.inputs.append(node)
        self.inputs[index] = node

    def dependencies(self, what: int | None = None) -> list[Node]:
        return list(self.inputs)


class Menu:
    def __init__(self, name: str):
        self.name = name
        self.items: dict[str, Any] = {}

    def addMenu(self, name: str) -> Menu:
        return self.items.setdefault(name, Menu(name))

    def addCommand(self, name: str, command: Any, *args: Any, **kwargs: Any) -> None:
        self.items[name] = command


class _Root:
    def __init__(self, fake: FakeNuke):
        self.fake = fake

    def name(self) -> str:
        return self.fake.script


def _cat_from_torchscript(node: Node) -> None:
    """What CatFileCreator's button does, for the test: writes the .cat (here: a tagged copy)."""
    source = Path(node["torchScriptFile"].value())
    header = f"CAT {node['modelId'].value()} {node['channelsIn'].value()} -> {node['channelsOut'].value()}\n"
    Path(node["catFile"].value()).write_bytes(header.encode() + source.read_bytes())


def _frame_path(pattern: str, frame: int) -> str:
    return re.sub(r"#+", lambda m: f"{frame:0{len(m.group(0))}d}", pattern)


class FakeNuke(types.ModuleType):
    REPLACE = REPLACE
    NUKE_VERSION_STRING = "15.1v3"

    def __init__(self) -> None:
        super().__init__("nuke")
        self.nodes: list[Node] = []
        self.callbacks: dict[str, list[Callable[[], None]]] = {"before": [], "frame": [], "after": []}
        self.menus: dict[str, Menu] = {}
        self.messages: list[str] = []
        self.current: Node | None = None
        self.current_frame = 1
        self.script = "/shots/sh010/comp_v003.nk"

    # -- nodes and knobs ---------------------------------------------------------------------------
    def createNode(self, node_class: str, knobs: str = "", inpanel: bool = True) -> Node:
        defaults: dict[str, Any] = {}
        if node_class == "CatFileCreator":
            defaults = {
                k: Knob(k, "") for k in ("torchScriptFile", "catFile", "channelsIn", "channelsOut", "modelId")
            }
            defaults["outputScale"] = Knob("outputScale", 1)
            node = Node(node_class, f"{node_class}{len(self.nodes) + 1}", defaults)
            node.addKnob(Knob("createCatFile", on_execute=lambda: _cat_from_torchscript(node)))
        else:
            node = Node(node_class, f"{node_class}{len(self.nodes) + 1}")
        self.nodes.append(node)
        return node

    def add(self, node: Node, *inputs: Node) -> Node:
        for i, upstream in enumerate(inputs):
            node.setInput(i, upstream)
        self.nodes.append(node)
        return node

    def Double_Knob(self, name: str, label: str = "") -> Knob:
        return Knob(name, 0.0)

    def Int_Knob(self, name: str, label: str = "") -> Knob:
        return Knob(name, 0)

    def allNodes(self, node_class: str | None = None) -> list[Node]:
        return [n for n in self.nodes if node_class is None or n.Class() == node_class]

    def toNode(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name() == name), None)

    # -- context ------------------------------------------------------------------------------------
    def thisNode(self) -> Node:
        assert self.current is not None, "thisNode() outside a callback"
        return self.current

    def frame(self) -> int:
        return self.current_frame

    def filename(self, node: Node, mode: int = 0) -> str:
        pattern = str(node["file"].value())
        return _frame_path(pattern, self.current_frame) if mode == REPLACE else pattern

    def root(self) -> _Root:
        return _Root(self)

    def message(self, text: str) -> None:
        self.messages.append(text)

    def menu(self, name: str) -> Menu:
        return self.menus.setdefault(name, Menu(name))

    # -- callbacks ----------------------------------------------------------------------------------
    def addBeforeRender(
        self, call: Callable[[], None], args: tuple = (), kwargs: dict | None = None, nodeClass: str = "Write"
    ) -> None:
        self.callbacks["before"].append(call)

    def addAfterFrameRender(
        self, call: Callable[[], None], args: tuple = (), kwargs: dict | None = None, nodeClass: str = "Write"
    ) -> None:
        self.callbacks["frame"].append(call)

    def addAfterRender(
        self, call: Callable[[], None], args: tuple = (), kwargs: dict | None = None, nodeClass: str = "Write"
    ) -> None:
        self.callbacks["after"].append(call)

    def render(self, write: Node, frames: Iterable[int], produce: Callable[[int, str], None]) -> None:
        """Play a render of ``write`` as Nuke would call back; ``produce(frame, path)`` writes the frame.
        An exception in a before-render callback stops the render, as in Nuke."""
        self.current = write
        try:
            for call in self.callbacks["before"]:
                call()
            for frame in frames:
                self.current_frame = frame
                produce(frame, self.filename(write, REPLACE))
                for call in self.callbacks["frame"]:
                    call()
            for call in self.callbacks["after"]:
                call()
        finally:
            self.current = None
