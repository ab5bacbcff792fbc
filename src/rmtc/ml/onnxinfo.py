"""What an ONNX file says about itself, read without running it and without following external data.

``rmtc model push model.onnx`` records these facts. The protobuf is parsed with
``load_external_data=False`` (an external-data reference is a path chosen by whoever made the file: it is
never dereferenced) and only after the file's size is checked against a cap, so inspecting a hostile file
costs bounded memory and runs nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from rmtc.errors import InvalidInput, NotFound

#: The largest ONNX file inspected (protobuf itself stops at 2 GiB).
MAX_ONNX_BYTES: Final = 2 << 30


def read_onnx_info(path: str | os.PathLike[str], *, max_bytes: int = MAX_ONNX_BYTES) -> dict[str, Any]:
    """The metadata of an ONNX model: opsets, producer, metadata properties, inputs and outputs.

    Returns:
        ``{"opsets": {domain: version}, "producer": str, "producer_version": str, "ir_version": int,
        "metadata": {key: value}, "inputs": [{"name", "shape", "elem_type"}], "outputs": [...],
        "external_data": [locations]}``; a shape lists each dimension as an int, or its symbolic name.

    Raises:
        NotFound: no such file. InvalidInput: larger than ``max_bytes``, or not an ONNX model.
    """
    import onnx
    from google.protobuf.message import DecodeError

    p = Path(path)
    if not p.is_file():
        raise NotFound(f"no ONNX file at {p}", hint="check the path")
    size = p.stat().st_size
    if size > max_bytes:
        raise InvalidInput(
            f"{p} is {size} bytes, more than the {max_bytes} an ONNX file may have here",
            hint="split the model, or raise the limit if the file is genuine",
        )
    try:
        proto = onnx.load(str(p), load_external_data=False)
    except (DecodeError, ValueError, OSError, RuntimeError) as exc:
        raise InvalidInput(f"{p} is not an ONNX model: {exc}", hint="give a .onnx file") from exc
    graph = proto.graph
    if not graph.node and not graph.output:
        raise InvalidInput(f"{p} is not an ONNX model: it has no graph", hint="give a .onnx file")
    initializers = {t.name for t in graph.initializer}
    external = sorted(
        {
            entry.value
            for t in graph.initializer
            if t.data_location == onnx.TensorProto.EXTERNAL
            for entry in t.external_data
            if entry.key == "location"
        }
    )
    return {
        "opsets": {op.domain or "ai.onnx": int(op.version) for op in proto.opset_import},
        "producer": proto.producer_name,
        "producer_version": proto.producer_version,
        "ir_version": int(proto.ir_version),
        "metadata": {prop.key: prop.value for prop in proto.metadata_props},
        "inputs": [_value_info(v) for v in graph.input if v.name not in initializers],
        "outputs": [_value_info(v) for v in graph.output],
        "external_data": external,
    }


def _value_info(value: Any) -> dict[str, Any]:
    tensor = value.type.tensor_type
    dims: list[int | str] = []
    for d in tensor.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        else:
            dims.append(d.dim_param or "?")
    return {"name": value.name, "shape": dims, "elem_type": int(tensor.elem_type)}
