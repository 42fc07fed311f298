// SPDX-License-Identifier: MIT
// Qualitrail contracts: compensation vouchers backed by anchored SLA-breach evidence.

pragma solidity ^0.8.24;

import {AccessControl} from "./AccessControl.sol";
import {IEvidenceRegistry} from "./EvidenceRegistry.sol";
import {Pausable} from "./Pausable.sol";

/**
 * @dev Issues a compensation voucher to a customer when a service missed its SLA, and records its
 * redemption.
 *
 * Trust model: that the breach happened is attested by the operator's issuer key. This contract
 * guarantees the rest:
 *
 * - the breach evidence is anchored and is a breach: `breachLeaf` must be a milestone leaf of kind
 *   `sla_breach` in a format 2 batch whose root the {IEvidenceRegistry} anchored
 *   ({IEvidenceRegistry-verifyMilestone}); a root, an inner node or a milestone of another kind fails;
 * - the claim is unique: one voucher at most per `claimId` (Qualitrail derives it from the ticket
 *   and the breach kind), and one at most per breach leaf;
 * - the amount is bounded: at most {maxAmount}, which only {DEFAULT_ADMIN_ROLE} sets;
 * - the voucher is paid once: it can be redeemed at most once, and not after it expired.
 *
 * `customerRef` is a salted hash of the customer's account, never the account itself.
 *
 * Roles:
 *
 * - {ISSUER_ROLE} issues vouchers (the compensation worker's key);
 * - {REDEEMER_ROLE} redeems them (the key of the system that pays the customer);
 * - {DEFAULT_ADMIN_ROLE} grants and revokes roles, pauses/unpauses the contract and sets {maxAmount}.
 */
contract CompensationVoucher is AccessControl, Pausable {
    struct Voucher {
        bytes32 claimId;
        bytes32 customerRef;
        uint256 amount;
        bytes32 breachLeaf;
        bytes32 root;
        uint64 expiresAt;
        bool redeemed;
    }

    IEvidenceRegistry private immutable _registry;
    uint256 private _lastVoucherId;
    mapping(uint256 voucherId => Voucher) private _vouchers;
    mapping(bytes32 claimId => uint256 voucherId) private _voucherOfClaim;
    mapping(bytes32 breachLeaf => uint256 voucherId) private _voucherOfBreach;
    uint256 private _maxAmount;

    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    bytes32 public constant REDEEMER_ROLE = keccak256("REDEEMER_ROLE");
    /// @dev The kind a milestone must have to back a voucher: `keccak256("sla_breach")`.
    bytes32 public constant BREACH_KIND = keccak256("sla_breach");

    /**
     * @dev A voucher was already issued for `claimId`.
     */
    error CompensationVoucherClaimAlreadyIssued(bytes32 claimId);

    /**
     * @dev Breach leaf `breachLeaf` already backs voucher `voucherId`.
     */
    error CompensationVoucherBreachAlreadyCompensated(bytes32 breachLeaf, uint256 voucherId);

    /**
     * @dev `breachLeaf` is not an `sla_breach` milestone proven by `proof` under `root`, or `root` is
     * not anchored in the registry.
     */
    error CompensationVoucherEvidenceNotAnchored(bytes32 breachLeaf, bytes32 root);

    /**
     * @dev `amount` for `claimId` is above the cap `maxAmount_`.
     */
    error CompensationVoucherAmountAboveCap(bytes32 claimId, uint256 amount, uint256 maxAmount_);

    /**
     * @dev The zero claim id cannot be used: {voucherOfClaim} reads zero as "no claim".
     */
    error CompensationVoucherZeroClaimId();

    /**
     * @dev A voucher must be worth something.
     */
    error CompensationVoucherZeroAmount(bytes32 claimId);

    /**
     * @dev `expiresAt` is not after the current block time `blockTime`.
     */
    error CompensationVoucherExpiryInPast(uint64 expiresAt, uint64 blockTime);

    /**
     * @dev No voucher has id `voucherId`.
     */
    error CompensationVoucherUnknownVoucher(uint256 voucherId);

    /**
     * @dev Voucher `voucherId` was already redeemed.
     */
    error CompensationVoucherAlreadyRedeemed(uint256 voucherId);

    /**
     * @dev Voucher `voucherId` expired at `expiresAt`.
     */
    error CompensationVoucherExpired(uint256 voucherId, uint64 expiresAt);

    /**
     * @dev The constructor got the zero address, or a registry address without code.
     */
    error CompensationVoucherInvalidAddress(address account);

    /**
     * @dev Voucher `voucherId` worth `amount` was issued for `claimId` to the customer behind
     * `customerRef`, on the evidence that `breachLeaf` is part of the anchored `root`.
     */
    event VoucherIssued(
        uint256 indexed voucherId,
        bytes32 indexed claimId,
        bytes32 customerRef,
        uint256 amount,
        uint64 expiresAt,
        bytes32 breachLeaf,
        bytes32 root
    );

    /**
     * @dev Voucher `voucherId` was redeemed by `by`.
     */
    event VoucherRedeemed(uint256 indexed voucherId, address indexed by);

    /**
     * @dev The most a voucher may be worth changed from `previousMax` to `newMax`.
     */
    event MaxAmountChanged(uint256 previousMax, uint256 newMax);

    /**
     * @dev Binds the contract to `registry_` for good, grants {DEFAULT_ADMIN_ROLE} to `admin` and caps
     * vouchers at `maxAmount_`.
     *
     * Requirements:
     *
     * - `registry_` must be a contract;
     * - `admin` must not be the zero address.
     *
     * Emits a {MaxAmountChanged} event.
     */
    constructor(address registry_, address admin, uint256 maxAmount_) {
        if (registry_.code.length == 0) revert CompensationVoucherInvalidAddress(registry_);
        if (admin == address(0)) revert CompensationVoucherInvalidAddress(admin);
        _registry = IEvidenceRegistry(registry_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setMaxAmount(maxAmount_);
    }

    /**
     * @dev Issues voucher number `voucherId` (ids start at 1) for `claimId`.
     *
     * The claim is marked before the registry is called (checks-effects-interactions), so even a
     * registry that called back could not issue the same claim twice.
     *
     * Requirements:
     *
     * - the caller must hold {ISSUER_ROLE};
     * - the contract must not be paused;
     * - `claimId` must not be zero and must not have a voucher yet;
     * - `breachLeaf` must not back a voucher yet;
     * - `amount` must not be zero and not above {maxAmount};
     * - `expiresAt` must be after the current block time;
     * - the registry must confirm that `proof` proves `breachLeaf`, as a milestone of kind
     *   {BREACH_KIND}, under the anchored `root` ({IEvidenceRegistry-verifyMilestone}).
     *
     * Emits a {VoucherIssued} event.
     */
    function issue(
        bytes32 claimId,
        bytes32 customerRef,
        uint256 amount,
        uint64 expiresAt,
        bytes32 breachLeaf,
        bytes32[] calldata proof,
        bytes32 root
    ) public virtual onlyRole(ISSUER_ROLE) whenNotPaused returns (uint256 voucherId) {
        if (claimId == bytes32(0)) revert CompensationVoucherZeroClaimId();
        if (_voucherOfClaim[claimId] != 0) revert CompensationVoucherClaimAlreadyIssued(claimId);
        uint256 backed = _voucherOfBreach[breachLeaf];
        if (backed != 0) revert CompensationVoucherBreachAlreadyCompensated(breachLeaf, backed);
        if (amount == 0) revert CompensationVoucherZeroAmount(claimId);
        if (amount > _maxAmount) revert CompensationVoucherAmountAboveCap(claimId, amount, _maxAmount);
        if (expiresAt <= block.timestamp) revert CompensationVoucherExpiryInPast(expiresAt, uint64(block.timestamp));

        // Cannot overflow: one id per transaction, 2**256 transactions will never happen.
        unchecked {
            voucherId = ++_lastVoucherId;
        }
        _voucherOfClaim[claimId] = voucherId;
        _voucherOfBreach[breachLeaf] = voucherId;
        _vouchers[voucherId] = Voucher({
            claimId: claimId,
            customerRef: customerRef,
            amount: amount,
            breachLeaf: breachLeaf,
            root: root,
            expiresAt: expiresAt,
            redeemed: false
        });

        if (!_registry.verifyMilestone(breachLeaf, BREACH_KIND, proof, root)) {
            revert CompensationVoucherEvidenceNotAnchored(breachLeaf, root);
        }
        emit VoucherIssued(voucherId, claimId, customerRef, amount, expiresAt, breachLeaf, root);
    }

    /**
     * @dev Marks voucher `voucherId` as redeemed (paid out to the customer).
     *
     * Requirements:
     *
     * - the caller must hold {REDEEMER_ROLE};
     * - the contract must not be paused;
     * - the voucher must exist, must not be redeemed yet, and must not have expired.
     *
     * Emits a {VoucherRedeemed} event.
     */
    function redeem(uint256 voucherId) public virtual onlyRole(REDEEMER_ROLE) whenNotPaused {
        if (voucherId == 0 || voucherId > _lastVoucherId) revert CompensationVoucherUnknownVoucher(voucherId);
        Voucher storage voucher = _vouchers[voucherId];
        if (voucher.redeemed) revert CompensationVoucherAlreadyRedeemed(voucherId);
        if (block.timestamp >= voucher.expiresAt) revert CompensationVoucherExpired(voucherId, voucher.expiresAt);

        voucher.redeemed = true;
        emit VoucherRedeemed(voucherId, msg.sender);
    }

    /**
     * @dev Sets the most a voucher may be worth to `maxAmount_` (minor units of the currency).
     *
     * Requirements:
     *
     * - the caller must hold {DEFAULT_ADMIN_ROLE}.
     *
     * Emits a {MaxAmountChanged} event.
     */
    function setMaxAmount(uint256 maxAmount_) public virtual onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMaxAmount(maxAmount_);
    }

    /**
     * @dev Pauses issuing and redeeming.
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
     * @dev Resumes issuing and redeeming.
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
     * @dev Returns the registry that anchors the evidence vouchers rely on.
     */
    function registry() public view virtual returns (address) {
        return address(_registry);
    }

    /**
     * @dev Returns the id of the voucher issued for `claimId`, or 0 if there is none.
     */
    function voucherOfClaim(bytes32 claimId) public view virtual returns (uint256) {
        return _voucherOfClaim[claimId];
    }

    /**
     * @dev Returns the id of the voucher breach leaf `breachLeaf` backs, or 0 if there is none.
     */
    function voucherOfBreach(bytes32 breachLeaf) public view virtual returns (uint256) {
        return _voucherOfBreach[breachLeaf];
    }

    /**
     * @dev Returns the most a voucher may be worth.
     */
    function maxAmount() public view virtual returns (uint256) {
        return _maxAmount;
    }

    /**
     * @dev Returns the number of vouchers issued so far, which is also the highest voucher id.
     */
    function voucherCount() public view virtual returns (uint256) {
        return _lastVoucherId;
    }

    /**
     * @dev Returns voucher `voucherId`.
     *
     * Requirements:
     *
     * - the voucher must exist.
     */
    function voucherOf(uint256 voucherId)
        public
        view
        virtual
        returns (
            bytes32 claimId,
            bytes32 customerRef,
            uint256 amount,
            uint64 expiresAt,
            bool redeemed,
            bytes32 breachLeaf,
            bytes32 root
        )
    {
        if (voucherId == 0 || voucherId > _lastVoucherId) revert CompensationVoucherUnknownVoucher(voucherId);
        Voucher storage v = _vouchers[voucherId];
        return (v.claimId, v.customerRef, v.amount, v.expiresAt, v.redeemed, v.breachLeaf, v.root);
    }

    function _setMaxAmount(uint256 maxAmount_) internal virtual {
        uint256 previous = _maxAmount;
        _maxAmount = maxAmount_;
        emit MaxAmountChanged(previous, maxAmount_);
    }
}
