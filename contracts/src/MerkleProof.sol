// SPDX-License-Identifier: MIT
// Qualitrail contracts: Merkle proof verification compatible with OpenZeppelin's MerkleProof.

pragma solidity ^0.8.24;

/**
 * @dev Verifies Merkle proofs for trees whose inner nodes hash each pair in sorted order:
 * `node = keccak256(min(a, b) ++ max(a, b))`. Sorting makes the hash commutative, so a proof is a
 * plain list of sibling hashes with no left/right flags. Off-chain, `domain/merkle.py` builds the
 * same trees.
 *
 * WARNING: these functions accept any 32-byte value as `leaf`, including an inner node with a
 * partial proof or the root with an empty proof. A caller that must accept only real leaves has to
 * hash leaves so that no inner node can be one: Qualitrail's batch format 2 uses OpenZeppelin's
 * double-hashed leaves ({EvidenceRegistry-milestoneNode}) and computes the leaf itself from what it
 * checks, never taking it from the caller.
 */
library MerkleProof {
    /**
     * @dev Returns `true` if `leaf` and `proof` rebuild `root`. `proof` lives in memory.
     */
    function verify(bytes32[] memory proof, bytes32 root, bytes32 leaf) internal pure returns (bool) {
        return processProof(proof, leaf) == root;
    }

    /**
     * @dev Same as {verify}, reading `proof` from calldata (cheaper for external entry points).
     */
    function verifyCalldata(bytes32[] calldata proof, bytes32 root, bytes32 leaf) internal pure returns (bool) {
        return processProofCalldata(proof, leaf) == root;
    }

    /**
     * @dev Returns the root rebuilt by hashing `leaf` up through `proof`. An empty proof returns
     * `leaf` itself (a one-leaf tree).
     */
    function processProof(bytes32[] memory proof, bytes32 leaf) internal pure returns (bytes32) {
        bytes32 computedHash = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            computedHash = _hashPair(computedHash, proof[i]);
        }
        return computedHash;
    }

    /**
     * @dev Same as {processProof}, reading `proof` from calldata.
     */
    function processProofCalldata(bytes32[] calldata proof, bytes32 leaf) internal pure returns (bytes32) {
        bytes32 computedHash = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            computedHash = _hashPair(computedHash, proof[i]);
        }
        return computedHash;
    }

    /**
     * @dev Hashes a pair in sorted order, so `_hashPair(a, b) == _hashPair(b, a)`.
     */
    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? _efficientKeccak256(a, b) : _efficientKeccak256(b, a);
    }

    /**
     * @dev `keccak256(abi.encode(a, b))` without allocating memory: the two words go into the
     * scratch space at 0x00-0x3f, which Solidity reserves for exactly this kind of short use.
     */
    function _efficientKeccak256(bytes32 a, bytes32 b) private pure returns (bytes32 value) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            value := keccak256(0x00, 0x40)
        }
    }
}
