"""A facility-sized provenance graph, generated from a fixed seed.

The shape follows how a facility's graph grows, so that queries touch what they would touch there:

- **Shows** (20) own their footage, talents and training sets. Plates are sequences of 100 frames
  (600,000 source frames at full scale, each ``governed_by`` the studio licence of its show); every
  sequence depicts 0-3 of its show's 10 talents (``depicts`` on every frame), leads far more often
  than day players (Zipf weights).
- **Talents** (200) each have one agreement licence (``attributed_to`` the talent); some grant
  ``commercial`` and some have expired, so rights differ between artefacts. **Studio licences** (5):
  three grant every built-in right, two deny ``commercial`` only.
- **Dataset versions** (2,000) draw 3-8 whole sequences of one show (300-800 members); a quarter of
  the later versions are filtered from the previous version of their dataset (``derived_from``, one
  sequence dropped).
- **Runs** (5,000 trainings) use 1-3 dataset versions of their show and each generate one
  **weights** (``generated_by``), published as one **model version** (``derived_from`` the weights,
  ``version_of`` one of 50 model architectures).
- **Inferences** (100,000) use one model version of their show and 4 consecutive plate frames, and
  generate 4 output frames (400,000 assets), each derived from its input frame and that frame's
  neighbours (a temporal model's window); every inference is ``part_of`` one of 1,000 sessions.
- A **second generation** (5% of dataset versions, runs and inferences) trains on those output frames,
  so some model versions inherit other models' sources through a deeper chain.

Everything scales with ``scale`` (``--scale 0.01`` for development); ids, hashes and choices come from
one seeded generator, so every backend and the in-memory graph get the very same graph. The graph is
produced as :class:`Chunk` s in dependency order (an edge's ends always come in an earlier or the same
chunk) and never held whole: the generator keeps only the ids later chunks refer to.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from rmtc.core.entities import (
    Asset,
    Dataset,
    DatasetVersion,
    Entity,
    Inference,
    License,
    Model,
    ModelVersion,
    Party,
    Right,
    Run,
    Session,
    Solution,
    Weights,
)
from rmtc.core.frozen import assembler
from rmtc.core.ids import EntityId
from rmtc.core.kinds import Relation
from rmtc.store.types import Edge

SEED = 20261122
#: The clock of the whole benchmark: licence dates are read against it, so answers never drift.
TODAY = date(2026, 6, 1)
CREATED = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
USER = "bench"
FRAMES_PER_SEQUENCE = 100
FRAMES_PER_INFERENCE = 4
SECOND_GENERATION = 0.05
DATASET_KINDS = ("plates", "faces", "cleanplates", "mattes", "reference")
_TALENTS_PER_SEQUENCE = ((0, 1, 2, 3), (0.10, 0.30, 0.35, 0.25))
_MEDIA = {"width": 4096, "height": 2160, "channels": 4, "pixel_type": "half", "colourspace": "ACEScg"}
R = Relation
#: The bits uuid.UUID(int=..., version=4) clears and sets: the variant (RFC 4122) and the version.
_V4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_V4_SET = (0x8000 << 48) | (4 << 76)
_new_object = object.__new__
_set_field = object.__setattr__
#: Nearly five million edges: built without the frozen dataclass's __init__ (rmtc.core.frozen).
_edge = assembler(Edge)


@dataclass(frozen=True)
class Shape:
    """How big the graph is. :meth:`at` scales the facility-sized one."""

    scale: float
    assets: int
    talents: int
    studios: int
    shows: int
    datasets_per_show: int
    dataset_versions: int
    runs: int
    models: int
    inferences: int
    sessions: int

    @classmethod
    def at(cls, scale: float) -> Shape:
        if not 0 < scale <= 1:
            raise ValueError(f"scale {scale} is not in (0, 1]")
        shows = max(2, min(20, round(20 * scale)))
        inferences = max(2 * shows, round(100_000 * scale))
        assets = max(
            round(1_000_000 * scale), inferences * FRAMES_PER_INFERENCE + shows * FRAMES_PER_SEQUENCE
        )
        return cls(
            scale=scale,
            assets=assets,
            talents=max(shows, round(200 * scale)),
            studios=min(5, shows),
            shows=shows,
            datasets_per_show=len(DATASET_KINDS),
            dataset_versions=max(2 * shows, round(2_000 * scale)),
            runs=max(2 * shows, round(5_000 * scale)),
            models=max(1, round(50 * scale)),
            inferences=inferences,
            sessions=max(1, round(1_000 * scale)),
        )

    @property
    def outputs(self) -> int:
        return self.inferences * FRAMES_PER_INFERENCE

    @property
    def sequences(self) -> int:
        return (self.assets - self.outputs) // FRAMES_PER_SEQUENCE

    def describe(self) -> str:
        return (
            f"{self.assets:,} assets ({self.sequences * FRAMES_PER_SEQUENCE:,} plate frames in "
            f"{self.sequences:,} sequences of {FRAMES_PER_SEQUENCE}, {self.outputs:,} inference outputs), "
            f"{self.talents} talents with one agreement each, {self.studios} studio licences, "
            f"{self.shows} shows, {self.dataset_versions:,} dataset versions, {self.runs:,} training runs "
            f"(as many weights and model versions), {self.inferences:,} inferences"
        )


@dataclass
class Chunk:
    """Entities and the edges between them and what earlier chunks held."""

    entities: list[Entity] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def link(self, src: EntityId, relation: Relation, dst: EntityId, **attrs: Any) -> None:
        self.edges.append(_edge(src, relation, dst, attrs, CREATED, USER))


@dataclass
class Built:
    """What the samples are drawn from: ids by role, with the show each belongs to."""

    talents: list[EntityId] = field(default_factory=list)
    talent_show: dict[EntityId, int] = field(default_factory=dict)
    model_versions: list[EntityId] = field(default_factory=list)
    model_version_show: dict[EntityId, int] = field(default_factory=dict)
    inferences: list[EntityId] = field(default_factory=list)
    licenses: list[License] = field(default_factory=list)


class Facility:
    """One seeded graph. Iterate :meth:`chunks` once; :attr:`built` is complete afterwards."""

    def __init__(
        self, shape: Shape, seed: int = SEED, inference_chunk: int = 2_500, version_chunk_rows: int = 50_000
    ):
        self.shape = shape
        self.rng = random.Random(seed)
        self.inference_chunk = inference_chunk
        #: Dataset versions are cut into chunks of about this many rows, each version whole with its
        #: members (a snapshot is one transaction): a generation's versions in one chunk had been one
        #: write of a million ``member_of`` edges, not the "batches of about 100,000" the load makes.
        self.version_chunk_rows = version_chunk_rows
        self.built = Built()

    # -- helpers ---------------------------------------------------------------------------------
    def _id(self) -> EntityId:
        # uuid.UUID(int=bits, version=4), without its checks: a million of them
        value = _new_object(uuid.UUID)
        _set_field(value, "int", self.rng.getrandbits(128) & _V4_CLEAR | _V4_SET)
        _set_field(value, "is_safe", uuid.SafeUUID.unknown)
        return EntityId(value)

    def _hash(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def _new(self, cls: type[Any], name: str, **fields: Any) -> Any:
        return cls(id=self._id(), name=name, created_at=CREATED, created_by=USER, **fields)

    # -- the graph -------------------------------------------------------------------------------
    def chunks(self) -> Iterator[Chunk]:
        yield self._setup()
        for show in range(self.shape.shows):
            yield self._plates(show)
        yield from self._generation(first=True)
        yield from self._generation(first=False)

    def _setup(self) -> Chunk:
        s, rng, c = self.shape, self.rng, Chunk()
        c.entities += [self._new(Right, n) for n in ("face-swap", "de-age", "upscale")]
        for i in range(s.talents):
            talent = self._new(Party, f"talent-{i:03d}", talent=True)
            finish = date(2025, 12, 31) if rng.random() < 0.15 else date(2028 + rng.randrange(3), 6, 30)
            grants = (
                ("training", "inference", "commercial") if rng.random() < 0.6 else ("training", "inference")
            )
            agreement = self._new(
                License,
                f"agreement-{i:03d}",
                grants=grants,
                parties=(str(talent.id),),
                finish=finish,
                agreement=True,
            )
            c.entities += [talent, agreement]
            c.link(agreement.id, R.ATTRIBUTED_TO, talent.id, role="party")
            self.built.talents.append(talent.id)
            self.built.talent_show[talent.id] = i % s.shows
            self.built.licenses.append(agreement)
        self.studios = []
        for k in range(s.studios):
            if k < 3:
                lic = self._new(
                    License, f"studio-{k}", grants=("training", "inference", "commercial", "derivatives")
                )
            else:
                lic = self._new(License, f"studio-{k}", mode="deny", excludes=("commercial",))
            self.studios.append(lic.id)
            self.built.licenses.append(lic)
            c.entities.append(lic)
        self.solutions = [self._new(Solution, f"show{k:02d}-comp") for k in range(s.shows)]
        self.datasets = [
            [self._new(Dataset, f"show{k:02d}-{kind}") for kind in (*DATASET_KINDS, "comp")]
            for k in range(s.shows)
        ]
        self.models = [self._new(Model, f"model{m:02d}") for m in range(s.models)]
        self.sessions = [self._new(Session, f"session-{i:04d}") for i in range(s.sessions)]
        c.entities += [
            *self.solutions,
            *(d for ds in self.datasets for d in ds),
            *self.models,
            *self.sessions,
        ]
        self.show_talents = [self.built.talents[k :: s.shows] for k in range(s.shows)]
        self.sequences: list[list[list[EntityId]]] = []  # show -> sequence -> frame ids
        self.versions: list[list[DatasetVersion]] = [[] for _ in range(s.shows)]
        self.comp_versions: list[list[DatasetVersion]] = [[] for _ in range(s.shows)]
        self.inference_outputs: list[list[list[EntityId]]] = [[] for _ in range(s.shows)]
        self.model_next = [0] * s.models
        self.counter = {"run": 0, "inference": 0}
        self.version_next = [[0] * (len(DATASET_KINDS) + 1) for _ in range(s.shows)]
        return c

    def _plates(self, show: int) -> Chunk:
        s, rng, c = self.shape, self.rng, Chunk()
        count = s.sequences // s.shows + (1 if show < s.sequences % s.shows else 0)
        studio = self.studios[show % len(self.studios)]
        talents = self.show_talents[show]
        weights = [1 / (rank + 1) for rank in range(len(talents))]
        seqs = []
        for q in range(count):
            n = rng.choices(*_TALENTS_PER_SEQUENCE)[0]
            depicted: set[EntityId] = set()
            while len(depicted) < min(n, len(talents)):
                depicted.add(rng.choices(talents, weights)[0])
            pattern = f"/shows/show{show:02d}/seq{q:04d}/plate.####.exr"
            frames = []
            for f in range(1001, 1001 + FRAMES_PER_SEQUENCE):
                a = self._new(
                    Asset,
                    f"plate.{f}.exr",
                    content_hash=self._hash(),
                    size=50_331_648,
                    storage="reference",
                    uri=pattern.replace("####", str(f)),
                    sequence=pattern,
                    frame=f,
                    media=_MEDIA,
                )
                c.entities.append(a)
                c.link(a.id, R.GOVERNED_BY, studio)
                for t in sorted(depicted):
                    c.link(a.id, R.DEPICTS, t)
                frames.append(a.id)
            seqs.append(frames)
        self.sequences.append(seqs)
        return c

    def _version(
        self, c: Chunk, show: int, which: int, members: list[EntityId], **fields: Any
    ) -> DatasetVersion:
        dataset = self.datasets[show][which]
        self.version_next[show][which] += 1
        dv: DatasetVersion = self._new(
            DatasetVersion,
            dataset.name,
            version=self.version_next[show][which],
            content_hash=self._hash(),
            member_count=len(members),
            **fields,
        )
        c.entities.append(dv)
        c.link(dv.id, R.VERSION_OF, dataset.id)
        for m in members:
            c.link(m, R.MEMBER_OF, dv.id)
        return dv

    def _generation(self, first: bool) -> Iterator[Chunk]:
        s, rng = self.shape, self.rng
        share = SECOND_GENERATION
        n_versions = (
            round(s.dataset_versions * (1 - share))
            if first
            else s.dataset_versions - round(s.dataset_versions * (1 - share))
        )
        n_runs = round(s.runs * (1 - share)) if first else s.runs - round(s.runs * (1 - share))
        n_inf = (
            round(s.inferences * (1 - share)) if first else s.inferences - round(s.inferences * (1 - share))
        )
        c = Chunk()
        members_of: dict[EntityId, list[list[EntityId]]] = {}
        for i in range(n_versions):
            show = i % s.shows
            if first:
                which = (i // s.shows) % len(DATASET_KINDS)
                prior = [v for v in self.versions[show] if v.name == self.datasets[show][which].name]
                if prior and rng.random() < 0.25 and len(members_of[prior[-1].id]) > 1:
                    parent = prior[-1]
                    kept = list(members_of[parent.id])
                    kept.pop(rng.randrange(len(kept)))
                    dv = self._version(
                        c,
                        show,
                        which,
                        [f for seq in kept for f in seq],
                        transformation={"op": "filter", "dropped_sequences": 1},
                    )
                    c.link(dv.id, R.DERIVED_FROM, parent.id)
                else:
                    pool = self.sequences[show]
                    kept = rng.sample(pool, min(len(pool), rng.randint(3, 8)))
                    dv = self._version(c, show, which, [f for seq in kept for f in seq])
                members_of[dv.id] = kept
                self.versions[show].append(dv)
            else:
                pool = self.inference_outputs[show] or [o for outs in self.inference_outputs for o in outs]
                picked = rng.sample(pool, min(len(pool), 100))
                dv = self._version(c, show, len(DATASET_KINDS), [f for outs in picked for f in outs])
                self.comp_versions[show].append(dv)
            if len(c.entities) + len(c.edges) >= self.version_chunk_rows:
                yield c
                c = Chunk()
        yield c
        c = Chunk()
        mvs: list[list[EntityId]] = [[] for _ in range(s.shows)]
        for i in range(n_runs):
            show = i % s.shows
            if first:
                inputs = rng.sample(self.versions[show], min(len(self.versions[show]), rng.randint(1, 3)))
            else:
                comp = self.comp_versions[show] or [v for vs in self.comp_versions for v in vs]
                inputs = [
                    *rng.sample(comp, min(len(comp), rng.randint(1, 2))),
                    rng.choice(self.versions[show]),
                ]
            n = self.counter["run"] = self.counter["run"] + 1
            run = self._new(Run, f"train-{n:05d}", params={"lr": 1e-4, "epochs": 20, "seed": n, "show": show})
            w = self._new(Weights, f"weights-{n:05d}.safetensors", content_hash=self._hash(), size=4_000_000)
            model = rng.randrange(s.models)
            self.model_next[model] += 1
            mv = self._new(ModelVersion, self.models[model].name, version=self.model_next[model])
            c.entities += [run, w, mv]
            for v in inputs:
                c.link(run.id, R.USED, v.id)
            c.link(run.id, R.PART_OF, self.solutions[show].id)
            c.link(w.id, R.GENERATED_BY, run.id)
            c.link(mv.id, R.DERIVED_FROM, w.id)
            c.link(mv.id, R.VERSION_OF, self.models[model].id)
            mvs[show].append(mv.id)
            self.built.model_versions.append(mv.id)
            self.built.model_version_show[mv.id] = show
        yield c
        c = Chunk()
        for i in range(n_inf):
            show = i % s.shows
            model_version = rng.choice(mvs[show] or [m for ms in mvs for m in ms])
            seq = rng.choice(self.sequences[show])
            start = rng.randrange(FRAMES_PER_SEQUENCE - FRAMES_PER_INFERENCE + 1)
            frames = seq[start : start + FRAMES_PER_INFERENCE]
            n = self.counter["inference"] = self.counter["inference"] + 1
            first_frame = 1001 + start
            inf = self._new(
                Inference, f"inf-{n:06d}", frames=f"{first_frame}-{first_frame + FRAMES_PER_INFERENCE - 1}"
            )
            c.entities.append(inf)
            c.link(inf.id, R.USED, model_version)
            for a in frames:
                c.link(inf.id, R.USED, a)
            c.link(inf.id, R.PART_OF, rng.choice(self.sessions).id)
            outputs = []
            for k in range(FRAMES_PER_INFERENCE):
                out = self._new(
                    Asset,
                    f"comp.{first_frame + k}.exr",
                    content_hash=self._hash(),
                    size=50_331_648,
                    sequence=f"/shows/show{show:02d}/inf{n:06d}/comp.####.exr",
                    frame=first_frame + k,
                    media=_MEDIA,
                )
                c.entities.append(out)
                c.link(out.id, R.GENERATED_BY, inf.id)
                for j in range(max(0, k - 1), min(FRAMES_PER_INFERENCE, k + 2)):
                    c.link(out.id, R.DERIVED_FROM, frames[j])
                outputs.append(out.id)
            if first:
                self.inference_outputs[show].append(outputs)
            self.built.inferences.append(inf.id)
            if len(c.entities) >= self.inference_chunk * (1 + FRAMES_PER_INFERENCE):
                yield c
                c = Chunk()
        yield c
