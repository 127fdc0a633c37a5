// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Payout} from "../lib/PayoutBinding.sol";

/// @title ISettlementPool
/// @notice Settles the pool's Bitcoin blocks on this chain and pays miners (shared/DESIGN.md,
/// "Settlement flow").
interface ISettlementPool {
    /// @notice Settles one block found by the pool: checks it by SPV, reads the window root and
    /// the reward from its coinbase, verifies the payout proof and credits every payee.
    /// @param header The block's 80-byte header.
    /// @param coinbaseTx The coinbase in legacy (non-witness) serialisation.
    /// @param merkleProof The coinbase's Merkle branch (index 0), bottom up, internal byte order.
    /// @param payouts The payout list, strictly ascending by account, at most `maxPayouts()`.
    /// @param proof The Groth16 proof `[A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]`.
    function settle(
        bytes calldata header,
        bytes calldata coinbaseTx,
        bytes32[] calldata merkleProof,
        Payout[] calldata payouts,
        uint256[8] calldata proof
    ) external;

    /// @notice Pays the caller's whole balance in the token.
    /// @return amount The amount paid.
    function claim() external returns (uint256 amount);

    /// @notice Pays `account` its own whole balance; anyone may call it.
    /// @return amount The amount paid.
    function claimFor(address account) external returns (uint256 amount);

    /// @notice Credited and not yet claimed token units of `account`.
    function balanceOf(address account) external view returns (uint256);

    /// @notice The block whose settlement used the coinbase `coinbaseTxid` (0 if none).
    function settledBlockOf(bytes32 coinbaseTxid) external view returns (bytes32 blockHash);
}
