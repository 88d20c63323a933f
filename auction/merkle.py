"""The transparency log's Merkle tree (RFC 9162 §2.1, as RFC 6962 and C2SP tlog use it),
kept as the hashes of its perfect subtrees.

Theory of operation. A tree of `size` leaves is stored as nodes `(level, index)`: the
hash of the perfect subtree over leaves `[index·2^level, (index+1)·2^level)`. Appending a
leaf adds the level-0 node and every parent it completes, so each node is written once
and never changes. Every hash a proof or a root needs, `MTH(D[a:b])` for a range the RFC's
recursion names, is a fold of the perfect nodes that tile the range from the left
(`tiles`): a store fetches those in one round trip and this module does the rest. The
right edge of a tree (one node per set bit of its size) is all `append` needs to go on.

Everything here is pure: the store (server/store/tlog.py) reads and writes the nodes,
`openbid verify` and the witness only check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "Node",
    "append",
    "consistency_ranges",
    "edge",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "root_of_edge",
    "tiles",
    "verify_consistency",
    "verify_inclusion",
]

Node = tuple[int, int]  # (level, index): a perfect subtree
Range = tuple[int, int]  # [start, end) of leaves


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two below `n` (n > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def tiles(start: int, end: int) -> list[Node]:
    """The perfect nodes that tile `[start, end)` from the left, largest first. Every range
    the RFC's recursion names starts on a multiple of its first tile; ValueError if not."""
    found = []
    while start < end:
        width = 1 << ((end - start).bit_length() - 1)
        if start % width:
            raise ValueError(f"[{start}, {end}) is not a subtree of the log")
        found.append(((width.bit_length() - 1), start // width))
        start += width
    return found


def range_hash(start: int, end: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[start:end]) from the perfect nodes that tile it (a nonempty range)."""
    hashes = [nodes[node] for node in tiles(start, end)]
    folded = hashes[-1]
    for left in reversed(hashes[:-1]):
        folded = node_hash(left, folded)
    return folded


def edge(size: int) -> list[Node]:
    """The right edge of a tree of `size` leaves: one node per set bit, largest first."""
    return tiles(0, size)


def root_of_edge(size: int, nodes: Mapping[Node, bytes]) -> bytes:
    """The tree's root hash (of nothing: SHA-256 of the empty string)."""
    return range_hash(0, size, nodes) if size else hashlib.sha256(b"").digest()


def append(
    size: int, right_edge: Mapping[Node, bytes], leaves: Sequence[bytes]
) -> dict[Node, bytes]:
    """The nodes that appending `leaves` (leaf hashes) to a tree of `size` writes: each
    leaf and every parent it completes. `right_edge` holds at least the nodes of
    `edge(size)`; the result holds the new tree's edge too."""
    made: dict[Node, bytes] = {}
    known = dict(right_edge)
    for offset, hashed in enumerate(leaves):
        level, index = 0, size + offset
        while True:
            made[(level, index)] = known[(level, index)] = hashed
            if index % 2 == 0:
                break
            hashed = node_hash(known[(level, index - 1)], hashed)
            level, index = level + 1, index // 2
    return made


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes prove leaf `index` in a tree of `size` (RFC 9162 PATH),
    from the leaf upward."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    return _path(index, 0, size)


def _path(m: int, start: int, n: int) -> list[Range]:
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, start, k), (start + k, start + n)]
    return [*_path(m - k, start + k, n - k), (start, start + k)]


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The subtrees whose hashes prove a tree of `old` leaves a prefix of one of `new`
    (RFC 9162 PROOF); none when `old` is 0 or equals `new`."""
    if not 0 <= old <= new:
        raise ValueError(f"a tree of {old} cannot grow into one of {new}")
    return _subproof(old, 0, new, True) if 0 < old < new else []


def _subproof(m: int, start: int, n: int, whole: bool) -> list[Range]:
    if m == n:
        return [] if whole else [(start, start + n)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, start, k, whole), (start + k, start + n)]
    return [*_subproof(m - k, start + k, n - k, False), (start, start + k)]


def _chop(fn: int, sn: int, stop: Callable[[int], bool]) -> tuple[int, int]:
    while not stop(fn):
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: is the leaf hash `leaf` at `index` of the tree with `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _chop(fn, sn, lambda f: f & 1 == 1 or f == 0)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of `old` leaves with `old_root` a prefix of the tree
    of `new` leaves with `new_root`?"""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    if not proof:
        return False
    path = [old_root, *proof] if old & (old - 1) == 0 else list(proof)
    fn, sn = _chop(old - 1, new - 1, lambda f: f & 1 == 0)
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _chop(fn, sn, lambda f: f & 1 == 1 or f == 0)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0
