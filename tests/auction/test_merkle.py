"""The transparency log's tree against RFC 9162's definitions, written out naively here,
and against pymerkle, an independent implementation: every root, every inclusion and
consistency proof of every tree up to 70 leaves, and proofs that must fail."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from pymerkle import InmemoryTree  # type: ignore[import-untyped]

from auction.merkle import (
    Node,
    append,
    consistency_ranges,
    edge,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    range_hash,
    root_of_edge,
    tiles,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [f"entry {i}".encode() for i in range(70)]


def mth(data: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, literally."""
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return leaf_hash(data[0])
    k = 1 << ((len(data) - 1).bit_length() - 1)
    return node_hash(mth(data[:k]), mth(data[k:]))


def path(m: int, data: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH, literally."""
    if len(data) == 1:
        return []
    k = 1 << ((len(data) - 1).bit_length() - 1)
    if m < k:
        return [*path(m, data[:k]), mth(data[k:])]
    return [*path(m - k, data[k:]), mth(data[:k])]


def subproof(m: int, data: list[bytes], whole: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF, literally."""
    if m == len(data):
        return [] if whole else [mth(data)]
    k = 1 << ((len(data) - 1).bit_length() - 1)
    if m <= k:
        return [*subproof(m, data[:k], whole), mth(data[k:])]
    return [*subproof(m - k, data[k:], False), mth(data[:k])]


def grown(count: int, batches: int = 3) -> dict[Node, bytes]:
    """Every node of a tree of `count` leaves, appended in a few uneven batches."""
    nodes: dict[Node, bytes] = {}
    size, cuts = 0, sorted({count * i // batches for i in range(batches + 1)})
    for start, end in itertools.pairwise(cuts):
        made = append(
            size, {n: nodes[n] for n in edge(size)}, [leaf_hash(x) for x in LEAVES[start:end]]
        )
        assert not set(made) & set(nodes), "a node is written once"
        nodes |= made
        size = end
    return nodes


NODES = grown(len(LEAVES))


@pytest.mark.parametrize("size", range(len(LEAVES) + 1))
def test_the_root_of_every_size_is_the_rfc_one_and_pymerkle_s(size: int) -> None:
    assert root_of_edge(size, NODES) == mth(LEAVES[:size])
    assert root_of_edge(size, grown(size, batches=2)) == mth(LEAVES[:size])
    if size:
        other = InmemoryTree(algorithm="sha256")
        for data in LEAVES[:size]:
            other.append_entry(data)
        assert other.get_root() == root_of_edge(size, NODES)


@pytest.mark.parametrize("size", range(1, 40))
def test_every_inclusion_proof_is_the_rfc_path_and_verifies(size: int) -> None:
    root = mth(LEAVES[:size])
    for index in range(size):
        proof = [range_hash(a, b, NODES) for a, b in inclusion_ranges(index, size)]
        assert proof == path(index, LEAVES[:size])
        hashed = leaf_hash(LEAVES[index])
        assert verify_inclusion(hashed, index, size, proof, root)
        assert not verify_inclusion(leaf_hash(b"forged"), index, size, proof, root)
        assert not verify_inclusion(hashed, index, index, proof, root)
        assert not verify_inclusion(hashed, index, size, [*proof, root], root)
        if proof:
            assert not verify_inclusion(hashed, index, size, proof[:-1], root)
            assert not verify_inclusion(hashed, index ^ 1, size, proof, root) or index ^ 1 >= size


@pytest.mark.parametrize("new", range(1, 40))
def test_every_consistency_proof_is_the_rfc_one_and_verifies(new: int) -> None:
    new_root = mth(LEAVES[:new])
    for old in range(0, new + 1):
        proof = [range_hash(a, b, NODES) for a, b in consistency_ranges(old, new)]
        want = subproof(old, LEAVES[:new], True) if 0 < old < new else []
        assert proof == want
        old_root = mth(LEAVES[:old])
        assert verify_consistency(old, new, old_root, new_root, proof)
        if 0 < old < new:
            assert not verify_consistency(old, new, mth([b"x"] * old), new_root, proof)
            assert not verify_consistency(old, new, old_root, mth([b"x"] * new), proof)
            assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
            assert not verify_consistency(old, new, old_root, new_root, [])
            assert not verify_consistency(old, new, new_root, old_root, proof)


def test_a_tree_is_not_a_prefix_of_a_smaller_one_nor_of_another_at_its_size() -> None:
    root = mth(LEAVES[:5])
    assert not verify_consistency(6, 5, mth(LEAVES[:6]), root, [])
    assert not verify_consistency(5, 5, root, mth(LEAVES[1:6]), [])
    assert not verify_consistency(5, 5, root, root, [root])
    assert not verify_inclusion(leaf_hash(LEAVES[0]), 5, 5, [], root)
    with pytest.raises(ValueError, match="cannot grow"):
        consistency_ranges(6, 5)
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_ranges(5, 5)


@pytest.mark.parametrize(
    ("start", "end", "want"),
    [(0, 1, [(0, 0)]), (0, 6, [(2, 0), (1, 2)]), (4, 7, [(1, 2), (0, 6)]), (8, 16, [(3, 1)]),
     (0, 0, [])],
)  # fmt: skip
def test_a_range_is_tiled_by_the_largest_aligned_subtrees(
    start: int, end: int, want: list[Node]
) -> None:
    assert tiles(start, end) == want


def test_a_range_off_the_tree_s_grid_is_refused() -> None:
    with pytest.raises(ValueError, match="not a subtree"):
        tiles(1, 3)


@pytest.mark.parametrize("start", [2**60 + 1, 2**60 + 3, 2**62 + 2])
def test_a_tile_far_along_the_log_keeps_its_exact_integer_index(start: int) -> None:
    found = tiles(start, start + 1)
    assert found == [(0, start)] and isinstance(found[0][1], int)
    (level, index), *_ = tiles(start - start % 2, start - start % 2 + 2)
    assert (level, index) == (1, start // 2) and isinstance(index, int)


@pytest.mark.parametrize(("old", "new"), [(1, 2), (3, 7), (4, 8), (5, 13), (8, 9)])
def test_a_consistency_proof_with_a_hash_too_many_is_refused(old: int, new: int) -> None:
    proof = [range_hash(a, b, NODES) for a, b in consistency_ranges(old, new)]
    old_root, new_root = mth(LEAVES[:old]), mth(LEAVES[:new])
    assert verify_consistency(old, new, old_root, new_root, proof)
    for extra in (old_root, new_root, proof[-1]):
        assert not verify_consistency(old, new, old_root, new_root, [*proof, extra])
