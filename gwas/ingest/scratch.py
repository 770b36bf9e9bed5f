"""Working arrays kept per thread and reused from one sub-block to the next: a fresh allocation of
tens of MB costs a page fault per 4 KiB on first touch, and those faults serialise the threads."""

import threading

import numpy as np

_HELD = threading.local()


def scratch(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` and ``dtype`` over this thread's buffer ``name`` (grown when short)."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    held = getattr(_HELD, name, None)
    if held is None or len(held) < size:
        held = np.empty(size, dtype=np.uint8)
        setattr(_HELD, name, held)
    return held[:size].view(dtype).reshape(shape)


def held(name: str) -> np.ndarray:
    """This thread's buffer ``name`` as it is (uint8; empty when there is none yet)."""
    return getattr(_HELD, name, np.empty(0, dtype=np.uint8))


def keep(name: str, buffer: np.ndarray) -> None:
    """Hold ``buffer`` (uint8) as this thread's buffer ``name`` when it is larger than the one held."""
    held = getattr(_HELD, name, None)
    if held is None or len(held) < len(buffer):
        setattr(_HELD, name, buffer)


def drop() -> None:
    """Release this thread's buffers (a pool thread's go with the thread)."""
    _HELD.__dict__.clear()
