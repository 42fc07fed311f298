// SPDX-License-Identifier: MIT
// Qualitrail contracts: emergency stop in the style of OpenZeppelin's Pausable.

pragma solidity ^0.8.24;

/**
 * @dev Emergency stop. Functions marked {whenNotPaused} revert while the contract is paused.
 *
 * This module only provides the internal {_pause} and {_unpause}: an inheriting contract must add
 * public `pause()`/`unpause()` functions with its own access control, or it can never be paused.
 */
abstract contract Pausable {
    bool private _paused;

    /**
     * @dev The operation failed because the contract is paused.
     */
    error PausableEnforcedPause();

    /**
     * @dev The operation failed because the contract is not paused.
     */
    error PausableExpectedPause();

    /**
     * @dev `account` paused the contract.
     */
    event Paused(address indexed account);

    /**
     * @dev `account` lifted the pause.
     */
    event Unpaused(address indexed account);

    /**
     * @dev Reverts with {PausableEnforcedPause} while the contract is paused.
     */
    modifier whenNotPaused() {
        if (_paused) revert PausableEnforcedPause();
        _;
    }

    /**
     * @dev Reverts with {PausableExpectedPause} unless the contract is paused.
     */
    modifier whenPaused() {
        if (!_paused) revert PausableExpectedPause();
        _;
    }

    /**
     * @dev Returns `true` while the contract is paused.
     */
    function paused() public view virtual returns (bool) {
        return _paused;
    }

    /**
     * @dev Pauses the contract.
     *
     * Requirements:
     *
     * - the contract must not be paused.
     *
     * Emits a {Paused} event.
     */
    function _pause() internal virtual whenNotPaused {
        _paused = true;
        emit Paused(msg.sender);
    }

    /**
     * @dev Lifts the pause.
     *
     * Requirements:
     *
     * - the contract must be paused.
     *
     * Emits an {Unpaused} event.
     */
    function _unpause() internal virtual whenPaused {
        _paused = false;
        emit Unpaused(msg.sender);
    }
}
