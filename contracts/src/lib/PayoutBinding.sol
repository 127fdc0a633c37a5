// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @notice One entry of a settlement's payout list (docs/ARCHITECTURE.md item 9).
/// @param account The miner's payout address (never zero; zero marks the circuit's padding).
/// @param amount Token units (sats) credited to `account`.
struct Payout {
    address account;
    uint64 amount;
}

/// @title PayoutBinding
/// @notice Binds a payout list to the four public inputs of the settlement proof
/// (shared/DESIGN.md item 9, docs/ARCHITECTURE.md item 9):
///   c = uint256(keccak256(abi.encode(windowRoot, reward, feeBps, payouts))) mod r
///   S = sum_{j=0}^{len-1} c^j * (addr_j + amount_j * 2^160) mod r
///   public inputs = [windowRoot, reward + feeBps * 2^64, c, S]
/// where r is the BN254 scalar field order. The circuit recomputes S from its own payout
/// list, so a different list passes with probability at most M / r (Schwartz–Zippel).
/// @dev Rust counterpart: `share_verifier::binding`. The settlement contract exposes these as
/// external pure functions for off-chain callers.
library PayoutBinding {
    /// @notice The BN254 scalar field order r.
    uint256 internal constant FIELD_ORDER =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice The challenge c, a field element drawn from the whole statement.
    /// @param windowRoot The window root committed in the coinbase (a field element).
    /// @param reward R, the coinbase's reward to the settlement script, in sats.
    /// @param feeBps The pool fee in basis points.
    /// @param payouts The payout list, ascending by account.
    function challenge(bytes32 windowRoot, uint256 reward, uint256 feeBps, Payout[] memory payouts)
        internal
        pure
        returns (uint256)
    {
        return uint256(keccak256(abi.encode(windowRoot, reward, feeBps, payouts))) % FIELD_ORDER;
    }

    /// @notice The payout list's evaluation S = sum_j c^j * (addr_j + amount_j * 2^160) mod r.
    /// @dev j counts from 0. An entry's value is below 2^224 < r, so it is reduced once.
    /// @param c The challenge (below r).
    /// @param payouts The payout list.
    function evaluate(uint256 c, Payout[] memory payouts) internal pure returns (uint256 sum) {
        uint256 power = 1;
        uint256 length = payouts.length;
        for (uint256 j; j < length; ++j) {
            Payout memory payout = payouts[j];
            uint256 entry = uint256(uint160(payout.account)) | (uint256(payout.amount) << 160);
            sum = addmod(sum, mulmod(power, entry, FIELD_ORDER), FIELD_ORDER);
            power = mulmod(power, c, FIELD_ORDER);
        }
    }

    /// @notice The proof's public inputs, in order: windowRoot, reward + feeBps * 2^64, c, S,
    /// and the payout list's hash for `BlockSettled`, from one ABI encoding of the statement.
    /// @dev `reward` is below 2^64 (at most 21e14 sats) and `feeBps` below 2^16; the caller
    /// checks both. abi.encode(windowRoot, reward, feeBps, payouts) is four head words (the
    /// last the offset 0x80) then the list; abi.encode(payouts) is the offset 0x20 then the
    /// same list, so the payout hash is taken over the tail with the offset word rewritten.
    function bind(bytes32 windowRoot, uint256 reward, uint256 feeBps, Payout[] memory payouts)
        internal
        pure
        returns (uint256[4] memory input, bytes32 payoutHash)
    {
        bytes memory statement = abi.encode(windowRoot, reward, feeBps, payouts);
        uint256 c = uint256(keccak256(statement)) % FIELD_ORDER;
        assembly ("memory-safe") {
            let tail := add(statement, 0x80) // data starts at +0x20; the offset word is head word 3
            mstore(tail, 0x20)
            payoutHash := keccak256(tail, sub(mload(statement), 0x60))
        }
        input[0] = uint256(windowRoot);
        input[1] = reward + (feeBps << 64);
        input[2] = c;
        input[3] = evaluate(c, payouts);
    }

    /// @notice The proof's public inputs [windowRoot, reward + feeBps * 2^64, c, S].
    function publicInputs(bytes32 windowRoot, uint256 reward, uint256 feeBps, Payout[] memory payouts)
        internal
        pure
        returns (uint256[4] memory input)
    {
        (input,) = bind(windowRoot, reward, feeBps, payouts);
    }

    /// @notice The payout list's hash in `BlockSettled` events: keccak256(abi.encode(payouts)).
    function payoutHash(Payout[] memory payouts) internal pure returns (bytes32) {
        return keccak256(abi.encode(payouts));
    }
}
