// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @title IPegIn
/// @notice The bridge that brings a coinbase's reward onto this chain, as the settlement
/// contract sees it. In production this is the bridge whose peg-in script the coinbase pays;
/// on devnets it is `DevPegIn`.
interface IPegIn {
    /// @notice How much the bridge has delivered to the settlement contract for a coinbase.
    /// @param coinbaseTxid The coinbase's txid (internal byte order, raw sha256d output).
    /// @return amount Token units (8 decimals, so sats) transferred for that coinbase's outputs
    /// to the peg-in script; 0 when nothing has arrived.
    function delivered(bytes32 coinbaseTxid) external view returns (uint256 amount);
}
