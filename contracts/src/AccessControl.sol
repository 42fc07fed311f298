// SPDX-License-Identifier: MIT
// Qualitrail contracts: role-based access control in the style of OpenZeppelin's AccessControl.

pragma solidity ^0.8.24;

/**
 * @dev Role-based access control. Each role is a `bytes32` identifier, usually the keccak-256 of
 * its name, exposed as a `public constant`:
 *
 * ```solidity
 * bytes32 public constant ANCHOR_ROLE = keccak256("ANCHOR_ROLE");
 * ```
 *
 * A function is restricted with the {onlyRole} modifier. Every role has an admin role, and only
 * accounts holding a role's admin role may grant or revoke it, so an account can never grant
 * itself a role it does not administer. The admin of every role is {DEFAULT_ADMIN_ROLE} unless
 * changed with {_setRoleAdmin}; {DEFAULT_ADMIN_ROLE} is also its own admin.
 *
 * WARNING: {DEFAULT_ADMIN_ROLE} can grant every role, including itself. Keep it on a key that
 * signs rarely and is stored apart from the operational keys.
 */
abstract contract AccessControl {
    struct RoleData {
        mapping(address account => bool) hasRole;
        bytes32 adminRole;
    }

    mapping(bytes32 role => RoleData) private _roles;

    bytes32 public constant DEFAULT_ADMIN_ROLE = 0x00;

    /**
     * @dev `account` is missing `neededRole`.
     */
    error AccessControlUnauthorizedAccount(address account, bytes32 neededRole);

    /**
     * @dev {renounceRole} was called with a confirmation that is not the caller's own address.
     */
    error AccessControlBadConfirmation();

    /**
     * @dev `newAdminRole` replaced `previousAdminRole` as the admin role of `role`.
     */
    event RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole);

    /**
     * @dev `account` was granted `role` by `sender`.
     */
    event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender);

    /**
     * @dev `account` lost `role`; `sender` is the admin that revoked it, or `account` itself when
     * it renounced the role.
     */
    event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender);

    /**
     * @dev Reverts with {AccessControlUnauthorizedAccount} unless the caller holds `role`.
     */
    modifier onlyRole(bytes32 role) {
        _checkRole(role, msg.sender);
        _;
    }

    /**
     * @dev Returns `true` if `account` holds `role`.
     */
    function hasRole(bytes32 role, address account) public view virtual returns (bool) {
        return _roles[role].hasRole[account];
    }

    /**
     * @dev Returns the admin role that controls `role`. See {grantRole} and {revokeRole}.
     */
    function getRoleAdmin(bytes32 role) public view virtual returns (bytes32) {
        return _roles[role].adminRole;
    }

    /**
     * @dev Grants `role` to `account`. Does nothing if `account` already holds it.
     *
     * Requirements:
     *
     * - the caller must hold `role`'s admin role.
     *
     * May emit a {RoleGranted} event.
     */
    function grantRole(bytes32 role, address account) public virtual onlyRole(getRoleAdmin(role)) {
        _grantRole(role, account);
    }

    /**
     * @dev Revokes `role` from `account`. Does nothing if `account` does not hold it.
     *
     * Requirements:
     *
     * - the caller must hold `role`'s admin role.
     *
     * May emit a {RoleRevoked} event.
     */
    function revokeRole(bytes32 role, address account) public virtual onlyRole(getRoleAdmin(role)) {
        _revokeRole(role, account);
    }

    /**
     * @dev Gives up `role` held by the caller, e.g. when its key may be compromised.
     *
     * Requirements:
     *
     * - `callerConfirmation` must be the caller's address (guards against renouncing by mistake).
     *
     * May emit a {RoleRevoked} event.
     */
    function renounceRole(bytes32 role, address callerConfirmation) public virtual {
        if (callerConfirmation != msg.sender) revert AccessControlBadConfirmation();
        _revokeRole(role, callerConfirmation);
    }

    /**
     * @dev Reverts with {AccessControlUnauthorizedAccount} unless `account` holds `role`.
     */
    function _checkRole(bytes32 role, address account) internal view virtual {
        if (!hasRole(role, account)) revert AccessControlUnauthorizedAccount(account, role);
    }

    /**
     * @dev Sets `adminRole` as `role`'s admin role. Unrestricted: callers add their own checks.
     *
     * Emits a {RoleAdminChanged} event.
     */
    function _setRoleAdmin(bytes32 role, bytes32 adminRole) internal virtual {
        bytes32 previousAdminRole = getRoleAdmin(role);
        _roles[role].adminRole = adminRole;
        emit RoleAdminChanged(role, previousAdminRole, adminRole);
    }

    /**
     * @dev Grants `role` to `account` without access checks. Returns whether it was granted now.
     *
     * May emit a {RoleGranted} event.
     */
    function _grantRole(bytes32 role, address account) internal virtual returns (bool) {
        if (hasRole(role, account)) return false;
        _roles[role].hasRole[account] = true;
        emit RoleGranted(role, account, msg.sender);
        return true;
    }

    /**
     * @dev Revokes `role` from `account` without access checks. Returns whether it was revoked now.
     *
     * May emit a {RoleRevoked} event.
     */
    function _revokeRole(bytes32 role, address account) internal virtual returns (bool) {
        if (!hasRole(role, account)) return false;
        _roles[role].hasRole[account] = false;
        emit RoleRevoked(role, account, msg.sender);
        return true;
    }
}
