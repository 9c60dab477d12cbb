"""The base of the classes that wrap a native handle."""

from __future__ import annotations


class NativeObject:
    """Refuses use of an instance whose native state was never made (one created with ``cls.__new__``
    and not initialised): its private attributes are missing, which would otherwise surface as an
    AttributeError deep inside a call."""

    __slots__ = ()

    def __getattr__(self, name: str) -> object:
        if name.startswith("_") and not name.startswith("__"):
            raise TypeError(f"this {type(self).__name__} was never initialised: create it with "
                            f"{type(self).__name__}(...) or one of its from_* constructors")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
