// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title WrappedBtc
/// @notice The devnet's wrapped bitcoin: an ERC20 with 8 decimals (1 unit = 1 sat) that only
/// its peg-in can mint, and only for coinbase outputs it has checked through the light client.
/// @dev Deployed by `DevPegIn`'s constructor, which becomes its immutable minter.
contract WrappedBtc is ERC20 {
    // ---------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------

    /// @notice Only the peg-in may mint; `caller` is not it.
    error WrappedBtcUnauthorizedMinter(address caller);

    // ---------------------------------------------------------------------------------------
    // Immutables
    // ---------------------------------------------------------------------------------------

    address private immutable _minter;

    // ---------------------------------------------------------------------------------------
    // Constructor
    // ---------------------------------------------------------------------------------------

    /// @param minter_ The peg-in contract, the only address allowed to mint.
    constructor(address minter_) ERC20("Shareproof Devnet BTC", "spBTC") {
        _minter = minter_;
    }

    // ---------------------------------------------------------------------------------------
    // External
    // ---------------------------------------------------------------------------------------

    /// @notice Mints `amount` sats of wrapped BTC to `to`; only the peg-in may call it.
    function mint(address to, uint256 amount) external {
        if (msg.sender != _minter) revert WrappedBtcUnauthorizedMinter(msg.sender);
        _mint(to, amount);
    }

    /// @notice The address allowed to mint (the peg-in).
    function minter() external view returns (address) {
        return _minter;
    }

    /// @notice 8, like bitcoin: one token unit is one satoshi.
    function decimals() public pure override returns (uint8) {
        return 8;
    }
}
