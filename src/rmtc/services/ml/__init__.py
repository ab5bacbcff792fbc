"""The ML pipeline wired into provenance and rights: train, push, convert, publish, infer, Nuke.

Each service takes the :class:`~rmtc.api.tracker.Tracker` and imports the ML core (:mod:`rmtc.ml`,
torch) only inside the calls that need it, so importing these modules (and the CLI) stays light.
:class:`ML` gathers them::

    ml = ML(tracker)
    outcome = ml.training.train("matte.toml")
    version = ml.publisher.publish(outcome.weights, "matte", alias="production")
    ml.inferences.run("matte@production", input="plate.####.exr", output="matte.####.exr")

Relation conventions (edges point from the newer thing to what it came from or belongs to):

======================================  ==========================================================
training / fine-tuning run              ``used`` dataset version (and base weights); ``part_of``
                                        solution; params = the recipe
checkpoint, weights, contact sheet      ``generated_by`` the run
pushed weights                          ``governed_by`` licence; ``version_of`` model (the model,
                                        when the push creates it, is ``governed_by`` it too)
converted weights (TorchScript, ONNX)   ``variant_of`` source weights
model version                           ``derived_from`` weights; ``version_of`` model
``.cat`` (CatFileCreator)               ``variant_of`` model version
inference                               ``used`` model version and input frames; ``part_of`` session
output frame                            ``generated_by`` inference
CopyCat run                             ``used`` its frames; ``.cat`` checkpoints and weights,
                                        contact sheets ``generated_by`` it
======================================  ==========================================================

Rights enforced before the work: ``training`` (and the solution's needed rights) on the dataset version
and base weights; ``derivatives`` on weights to convert them; ``inference`` on weights to publish them
and on a model version to infer with it (or export it to Nuke), which must not be blocked.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rmtc.api.tracker import Tracker
    from rmtc.services.ml.convert import Conversions
    from rmtc.services.ml.infer import Inferences
    from rmtc.services.ml.models import Models
    from rmtc.services.ml.nuke import NukeRecords
    from rmtc.services.ml.publish import Publisher
    from rmtc.services.ml.solutions import Solutions
    from rmtc.services.ml.training import Training

__all__ = ["ML"]


class ML:
    """The ML services of one tracker, each built on first use."""

    def __init__(self, tracker: Tracker):
        self.t = tracker

    @functools.cached_property
    def training(self) -> Training:
        from rmtc.services.ml.training import Training

        return Training(self.t)

    @functools.cached_property
    def solutions(self) -> Solutions:
        from rmtc.services.ml.solutions import Solutions

        return Solutions(self.t)

    @functools.cached_property
    def models(self) -> Models:
        from rmtc.services.ml.models import Models

        return Models(self.t)

    @functools.cached_property
    def conversions(self) -> Conversions:
        from rmtc.services.ml.convert import Conversions

        return Conversions(self.t)

    @functools.cached_property
    def publisher(self) -> Publisher:
        from rmtc.services.ml.publish import Publisher

        return Publisher(self.t, self.conversions)

    @functools.cached_property
    def inferences(self) -> Inferences:
        from rmtc.services.ml.infer import Inferences

        return Inferences(self.t)

    @functools.cached_property
    def nuke(self) -> NukeRecords:
        from rmtc.services.ml.nuke import NukeRecords

        return NukeRecords(self.t)
