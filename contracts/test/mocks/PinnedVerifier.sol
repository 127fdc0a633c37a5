// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {IGroth16Verifier} from "../../src/interfaces/IGroth16Verifier.sol";

/// @notice A test stand-in that accepts exactly one (proof, public inputs) pair, pinned by the
/// test, and rejects everything else: any other payout list, reward, fee or root changes the
/// inputs and is refused. It exercises the settlement contract's crediting and binding logic
/// before the circuits' generated verifier exists; it proves nothing about proofs, which the
/// fixture tests (SettlementProof.t.sol) check with the real verifier.
contract PinnedVerifier is IGroth16Verifier {
    bytes32 private _statement;

    /// @notice Accept this pair, and only it, from now on.
    function pin(uint256[8] calldata proof, uint256[4] calldata input) external {
        _statement = keccak256(abi.encode(proof, input));
    }

    function verifyProof(uint256[8] calldata proof, uint256[4] calldata input) external view returns (bool) {
        return _statement != bytes32(0) && keccak256(abi.encode(proof, input)) == _statement;
    }
}
