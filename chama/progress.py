"""Progress of a long run over many rows, told to whoever asked (a command's progress bar)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")
Progress = Callable[[int, int], None]


def told(items: Iterable[Item], progress: Progress | None = None) -> Iterator[Item]:
    """Yield `items`, telling `progress(done, total)` before the first and after each one."""
    items = list(items)
    if progress:
        progress(0, len(items))
    for done, item in enumerate(items, 1):
        yield item
        if progress:
            progress(done, len(items))
