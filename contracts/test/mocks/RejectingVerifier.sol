// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {IGroth16Verifier} from "../../src/interfaces/IGroth16Verifier.sol";

/// @notice Rejects every proof. For tests of the checks that `settle` makes before it calls the
/// verifier, and of the verifier's "no" itself.
contract RejectingVerifier is IGroth16Verifier {
    function verifyProof(uint256[8] calldata, uint256[4] calldata) external pure returns (bool) {
        return false;
    }
}
