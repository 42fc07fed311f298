// SPDX-License-Identifier: MIT
// Qualitrail contracts: registry of anchored evidence Merkle roots.

pragma solidity ^0.8.24;

import {AccessControl} from "./AccessControl.sol";
import {MerkleProof} from "./MerkleProof.sol";
import {Pausable} from "./Pausable.sol";

/**
 * @dev What other contracts (e.g. {CompensationVoucher}) need from the evidence registry.
 */
interface IEvidenceRegistry {
    /**
     * @dev Returns `true` only if `root` is anchored and `proof` proves `leaf` under it.
     */
    function verifyLeaf(bytes32 leaf, bytes32[] calldata proof, bytes32 root) external view returns (bool);

    /**
     * @dev Returns `true` only if `root` is anchored and `proof` proves the tree leaf
     * {EvidenceRegistry-milestoneNode}(`milestoneLeaf`, `kindHash`) under it (batch format 2).
     */
    function verifyMilestone(bytes32 milestoneLeaf, bytes32 kindHash, bytes32[] calldata proof, bytes32 root)
        external
        view
        returns (bool);
}

/**
 * @dev Stores the Merkle roots of Qualitrail's evidence batches. Each leaf of a batch is the
 * keccak-256 hash of one service milestone (ticket opened, resolved, SLA breach, ...), chained to
 * the previous milestone of the same subject; the batch's tree uses sorted-pair hashing (see
 * {MerkleProof}). Only hashes are stored: no personal data ever reaches the chain.
 *
 * Batch format 2 (every batch Qualitrail anchors since format 2 exists): the tree's leaves are not the
 * milestone leaves themselves but {milestoneNode}s, OpenZeppelin's double-hashed leaves over the
 * milestone leaf and the hash of its kind. No inner node and no root can then pass as a milestone, and
 * {verifyMilestone} proves what kind of milestone a leaf is. Format 1 batches (raw milestone leaves)
 * anchored earlier still check with {verifyLeaf}.
 *
 * A root and a batch id can each be anchored once, so a retried anchoring transaction can never
 * anchor a batch twice: the second attempt reverts and the caller reads the first one back with
 * {rootOfBatch}.
 *
 * Roles:
 *
 * - {ANCHOR_ROLE} anchors roots (the anchoring worker's key).
 * - {DEFAULT_ADMIN_ROLE} grants and revokes roles and pauses/unpauses anchoring.
 */
contract EvidenceRegistry is IEvidenceRegistry, AccessControl, Pausable {
    struct Anchor {
        uint64 blockTime;
        uint64 blockNumber;
        uint32 leafCount;
        bytes32 batchId;
    }

    mapping(bytes32 root => Anchor) private _anchors;
    mapping(bytes32 batchId => bytes32 root) private _rootOfBatch;

    bytes32 public constant ANCHOR_ROLE = keccak256("ANCHOR_ROLE");

    /**
     * @dev `root` was already anchored (possibly by an earlier attempt of the same batch).
     */
    error EvidenceRegistryRootAlreadyAnchored(bytes32 root);

    /**
     * @dev `batchId` already has a root.
     */
    error EvidenceRegistryBatchAlreadyAnchored(bytes32 batchId);

    /**
     * @dev The zero root cannot be anchored: it is indistinguishable from "no root".
     */
    error EvidenceRegistryZeroRoot();

    /**
     * @dev The zero batch id cannot be used: {rootOfBatch} reads it as "no batch".
     */
    error EvidenceRegistryZeroBatchId();

    /**
     * @dev A batch must contain at least one leaf.
     */
    error EvidenceRegistryZeroLeafCount(bytes32 root);

    /**
     * @dev The admin account must not be the zero address.
     */
    error EvidenceRegistryZeroAdmin();

    /**
     * @dev `root` of batch `batchId` with `leafCount` leaves was anchored in a block stamped
     * `blockTime`.
     */
    event RootAnchored(bytes32 indexed root, bytes32 indexed batchId, uint32 leafCount, uint64 blockTime);

    /**
     * @dev Grants {DEFAULT_ADMIN_ROLE} to `admin`, which then grants {ANCHOR_ROLE}.
     *
     * Requirements:
     *
     * - `admin` must not be the zero address.
     */
    constructor(address admin) {
        if (admin == address(0)) revert EvidenceRegistryZeroAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /**
     * @dev Anchors `root`, the Merkle root of batch `batchId` holding `leafCount` leaves, and
     * stamps it with the current block's time and number.
     *
     * Requirements:
     *
     * - the caller must hold {ANCHOR_ROLE};
     * - the contract must not be paused;
     * - `root`, `batchId` and `leafCount` must not be zero;
     * - neither `root` nor `batchId` may have been anchored before.
     *
     * Emits a {RootAnchored} event.
     */
    function anchor(bytes32 root, uint32 leafCount, bytes32 batchId) public virtual onlyRole(ANCHOR_ROLE) whenNotPaused {
        if (root == bytes32(0)) revert EvidenceRegistryZeroRoot();
        if (batchId == bytes32(0)) revert EvidenceRegistryZeroBatchId();
        if (leafCount == 0) revert EvidenceRegistryZeroLeafCount(root);
        if (_anchors[root].leafCount != 0) revert EvidenceRegistryRootAlreadyAnchored(root);
        if (_rootOfBatch[batchId] != bytes32(0)) revert EvidenceRegistryBatchAlreadyAnchored(batchId);

        uint64 blockTime = uint64(block.timestamp);
        _anchors[root] = Anchor({
            blockTime: blockTime,
            blockNumber: uint64(block.number),
            leafCount: leafCount,
            batchId: batchId
        });
        _rootOfBatch[batchId] = root;
        emit RootAnchored(root, batchId, leafCount, blockTime);
    }

    /**
     * @dev Pauses anchoring.
     *
     * Requirements:
     *
     * - the caller must hold {DEFAULT_ADMIN_ROLE};
     * - the contract must not be paused.
     *
     * Emits a {Paused} event.
     */
    function pause() public virtual onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    /**
     * @dev Resumes anchoring.
     *
     * Requirements:
     *
     * - the caller must hold {DEFAULT_ADMIN_ROLE};
     * - the contract must be paused.
     *
     * Emits an {Unpaused} event.
     */
    function unpause() public virtual onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /**
     * @dev Returns how `root` was anchored. All fields are zero if it never was; `leafCount` is
     * never zero for an anchored root.
     */
    function anchorOf(bytes32 root)
        public
        view
        virtual
        returns (uint64 blockTime, uint64 blockNumber, uint32 leafCount, bytes32 batchId)
    {
        Anchor storage a = _anchors[root];
        return (a.blockTime, a.blockNumber, a.leafCount, a.batchId);
    }

    /**
     * @dev Returns the root anchored for `batchId`, or zero if the batch was never anchored.
     */
    function rootOfBatch(bytes32 batchId) public view virtual returns (bytes32) {
        return _rootOfBatch[batchId];
    }

    /**
     * @dev Returns `true` only if `root` is anchored here AND `proof` proves `leaf` under it.
     * A valid proof against a root this registry never anchored returns `false`.
     */
    function verifyLeaf(bytes32 leaf, bytes32[] calldata proof, bytes32 root) public view virtual returns (bool) {
        if (_anchors[root].leafCount == 0) return false;
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /**
     * @dev Returns `true` only if `root` is anchored here AND `proof` proves the format 2 tree leaf of
     * milestone `milestoneLeaf` of kind `kindHash` (`keccak256` of the kind's name) under it.
     *
     * Unlike {verifyLeaf}, nothing but a milestone of that kind passes: the root itself or an inner
     * node given as `milestoneLeaf` is hashed into a value that is no node of the tree.
     */
    function verifyMilestone(bytes32 milestoneLeaf, bytes32 kindHash, bytes32[] calldata proof, bytes32 root)
        public
        view
        virtual
        returns (bool)
    {
        if (_anchors[root].leafCount == 0) return false;
        return MerkleProof.verifyCalldata(proof, root, milestoneNode(milestoneLeaf, kindHash));
    }

    /**
     * @dev Returns the format 2 tree leaf of milestone `milestoneLeaf` of kind `kindHash`:
     * `keccak256(bytes.concat(keccak256(abi.encode(milestoneLeaf, kindHash))))`, OpenZeppelin's
     * double-hashed leaf. The outer hash is over 32 bytes, an inner node's preimage is 64, so a tree
     * leaf and an inner node can never be confused.
     */
    function milestoneNode(bytes32 milestoneLeaf, bytes32 kindHash) public pure virtual returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(milestoneLeaf, kindHash))));
    }
}
