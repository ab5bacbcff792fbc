"""A paired dataset version as the trainer's frame source: blobs, references, and their failures."""

from __future__ import annotations

import numpy as np
import pytest

from rmtc.errors import IntegrityError, InvalidInput, NotFound
from rmtc.services.ml.frames import DatasetPairs, training_pairs, training_version


def _version(t, root, *, by_reference=False):
    def ingest(role):
        pattern = str(root / f"{role}.####.exr")
        return t.ingestor.ingest([pattern], frames="1001-1002", by_reference=by_reference, probe_media=False)

    plates, mattes = ingest("plate"), ingest("matte")
    t.datasets.create("m", paired=True)
    t.datasets.add_pairs("m", [(a.asset, b.asset) for a, b in zip(plates.files, mattes.files, strict=True)])
    return t.datasets.snapshot("m")


def test_pairs_read_from_blobs_are_labelled_by_their_frames(project, footage):
    version = _version(project, footage.root)
    source = DatasetPairs(project, training_pairs(project, training_version(project, "m")))
    assert training_version(project, "dataset:m@1").id == version.id
    assert len(source) == 2 and source.label(1) == "plate.1002.exr -> matte.1002.exr"
    inp, tgt = source.load(0)
    assert inp.shape == (40, 48, 3) and tgt.shape == (40, 48, 1) and np.isfinite(inp).all()


def test_when_referenced_footage_changed_on_disk_then_reading_it_is_an_integrity_error(
    project, footage, tmp_path
):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(footage.root, copy)
    version = _version(project, copy, by_reference=True)
    source = DatasetPairs(project, training_pairs(project, version))
    (copy / "plate.1002.exr").write_bytes((copy / "plate.1001.exr").read_bytes())
    with pytest.raises(IntegrityError, match=r"plate\.1002\.exr -> matte\.1002\.exr \(input .*changed since"):
        source.load(1)
    (copy / "plate.1001.exr").unlink()
    with pytest.raises(NotFound, match="no longer exists"):
        source.load(0)


def test_when_an_asset_was_purged_then_it_cannot_be_trained_on(project, footage):
    version = _version(project, footage.root)
    source = DatasetPairs(project, training_pairs(project, version))
    project.purger.purge(source.pairs[0].target.id, reason="consent withdrawn")
    with pytest.raises(InvalidInput, match="was purged"):
        source.load(0)


def test_when_the_reference_is_not_a_dataset_then_it_is_refused(project, footage):
    _version(project, footage.root)
    asset = project.find("asset", limit=1).items[0]
    with pytest.raises(InvalidInput, match="is not a dataset version"):
        training_version(project, str(asset.id))
