"""Checkpoints: the processor's arrays as one NumPy ``.npz`` (no pickles) in a store record."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from mltrainer.exceptions import ChecksumError, StoreError
from mltrainer.store import StreamCheckpoint

__all__ = ["CHECKPOINT_FORMAT", "decode_checkpoint", "encode_checkpoint"]

CHECKPOINT_FORMAT = 1


def encode_checkpoint(
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    *,
    offset: str,
    bars: int,
    version: int | None,
) -> StreamCheckpoint:
    """Pack a processor state as a :class:`~mltrainer.store.StreamCheckpoint` record."""
    buffer = io.BytesIO()
    savez: Any = np.savez_compressed  # NumPy's stub types the keyword arrays as bool
    savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    blob = buffer.getvalue()
    for name, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise StoreError(
                f"checkpoint array {name!r} holds Python objects; only numbers are stored"
            )
    return StreamCheckpoint(
        format=CHECKPOINT_FORMAT,
        offset=offset,
        bars=int(bars),
        version=version,
        time=datetime.now(UTC).isoformat(),
        sha256=hashlib.sha256(blob).hexdigest(),
        state=base64.b64encode(blob).decode("ascii"),
        meta=dict(meta),
    )


def decode_checkpoint(record: StreamCheckpoint) -> dict[str, np.ndarray]:
    """The arrays of a checkpoint record, after checking its format and SHA-256.

    Raises
    ------
    ChecksumError
        When the stored state does not match its checksum.
    StoreError
        For a format this version cannot read.
    """
    if record.format != CHECKPOINT_FORMAT:
        raise StoreError(
            f"checkpoint format {record.format} is not readable by this mltrainer "
            f"(reads {CHECKPOINT_FORMAT}); start the stream fresh"
        )
    blob = base64.b64decode(record.state.encode("ascii"))
    if hashlib.sha256(blob).hexdigest() != record.sha256:
        raise ChecksumError(
            "the stream checkpoint does not match its SHA-256; it was corrupted: start fresh"
        )
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {name: data[name] for name in data.files}
