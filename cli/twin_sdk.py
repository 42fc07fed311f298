"""What the twin changes in the SDK's payload handling, for the speed of its thousands of runs:
a faster data converter with the default one's results, and the SDK's payload passes skipped
where they do nothing (decision 035)."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from typing import Any

from temporalio.converter import (
    AdvancedJSONEncoder,
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    value_to_type,
)

__all__ = ["TWIN_DATA_CONVERTER", "skip_idle_payload_visits"]


class _Dataclasses(JSONTypeConverter):
    """Decodes a dataclass as the SDK's ``value_to_type`` does, with its field types looked up once
    per class: the SDK resolves them on every payload (``typing.get_type_hints``, the domain's
    annotations being strings), which was a twentieth of the twin's Python time (py-spy)."""

    def to_typed_value(self, hint: type, value: Any) -> Any:
        if not (isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict)):
            return JSONTypeConverter.Unhandled
        init: dict[str, Any] = {}
        later: dict[str, Any] = {}
        for name, field_hint, in_init in _fields(hint):
            if name in value:
                try:
                    converted = value_to_type(field_hint, value[name], [self])
                except Exception as exc:
                    raise TypeError(f"Failed converting field {name} on dataclass {hint}") from exc
                (init if in_init else later)[name] = converted
        made = hint(**init)
        for name, converted in later.items():
            object.__setattr__(made, name, converted)
        return made


@functools.cache
def _fields(hint: type) -> tuple[tuple[str, Any, bool], ...]:
    hints = typing.get_type_hints(hint)
    return tuple((f.name, hints[f.name], f.init) for f in dataclasses.fields(hint))


class _ShallowEncoder(AdvancedJSONEncoder):
    """Encodes a dataclass field by field and lets the encoder recurse, instead of
    ``dataclasses.asdict``'s deep copy first: the same JSON."""

    def default(self, o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}
        return super().default(o)


class _TwinPayloads(CompositePayloadConverter):
    def __init__(self) -> None:
        json = JSONPlainPayloadConverter(encoder=_ShallowEncoder, custom_type_converters=[_Dataclasses()])
        super().__init__(*(json if isinstance(c, JSONPlainPayloadConverter) else c
                           for c in DefaultPayloadConverter.default_encoding_payload_converters))


# The twin's data converter: the default one's encodings and results, made faster for its
# thousands of runs (tests/analysis/test_twin_codec.py compares the two).
TWIN_DATA_CONVERTER = DataConverter(payload_converter_class=_TwinPayloads)


def skip_idle_payload_visits() -> bool:
    """Makes this process's workers skip the SDK's payload passes over each activation and its
    completion when the data converter has neither a codec nor external storage, as the twin's
    has not. Each pass then only walks the message and rebuilds its payload lists, three times
    each way: 13 % of a shard's busy Python time, 6.5 % of the twin's CPU (decision 035). Any
    other converter still gets them. Called in the twin's own processes only; returns whether it
    is in effect (not if the SDK's functions are not the ones it was written for)."""
    import temporalio.bridge.worker as bridge_worker
    from temporalio.converter._extstore import StorageOperationMetrics

    if getattr(bridge_worker, "_twin_skips", False):
        return True
    decode, encode = bridge_worker.decode_activation, bridge_worker.encode_completion
    if (tuple(inspect.signature(decode).parameters) != _DECODE_PARAMETERS
            or tuple(inspect.signature(encode).parameters) != _ENCODE_PARAMETERS):
        return False

    def idle(converter: DataConverter) -> bool:
        return converter.payload_codec is None and converter.external_storage is None

    async def decode_activation(activation: Any, data_converter: DataConverter, decode_headers: bool,
                                storage_concurrency_limit: int) -> StorageOperationMetrics:
        if idle(data_converter):
            return StorageOperationMetrics()
        return await decode(activation, data_converter, decode_headers, storage_concurrency_limit)

    async def encode_completion(completion: Any, data_converter: DataConverter, encode_headers: bool,
                                storage_concurrency_limit: int) -> StorageOperationMetrics:
        if idle(data_converter):
            return StorageOperationMetrics()
        return await encode(completion, data_converter, encode_headers, storage_concurrency_limit)

    bridge_worker.decode_activation = decode_activation
    bridge_worker.encode_completion = encode_completion
    bridge_worker._twin_skips = True  # type: ignore[attr-defined]
    return True


_DECODE_PARAMETERS = ("activation", "data_converter", "decode_headers", "storage_concurrency_limit")
_ENCODE_PARAMETERS = ("completion", "data_converter", "encode_headers", "storage_concurrency_limit")
