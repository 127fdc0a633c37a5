// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {IGroth16Verifier} from "../../src/interfaces/IGroth16Verifier.sol";

/// @notice A test stand-in that accepts exactly the (proof, public inputs) pairs pinned by the
/// test and rejects everything else: any other root, weight commitment, challenge or table sum
/// is refused, so a settlement passes only when the contract computed beta and T exactly as
/// the test's independent reference did. It exercises the settlement contract's binding and
/// crediting logic with statements no circuit has proven; it proves nothing about proofs,
/// which the fixture tests (SettlementProof.t.sol) check with the real verifier.
contract PinnedVerifier is IGroth16Verifier {
    mapping(bytes32 statement => bool pinned) private _pinned;

    /// @notice Accept this pair from now on (with the pairs pinned before).
    function pin(uint256[8] calldata proof, uint256[4] calldata input) external {
        _pinned[keccak256(abi.encode(proof, input))] = true;
    }

    function verifyProof(uint256[8] calldata proof, uint256[4] calldata input) external view returns (bool) {
        return _pinned[keccak256(abi.encode(proof, input))];
    }
}
