// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @title IGroth16Verifier
/// @notice The Groth16 (BN254) verifier that the circuits CLI generates for one key (window size
/// N; docs/ARCHITECTURE.md item 11). It is never hand-edited.
interface IGroth16Verifier {
    /// @notice Checks a proof of the settlement statement.
    /// @param proof [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]: G2 coordinates with the
    /// imaginary part first, as the 0x08 pairing precompile expects.
    /// @param input The public inputs [windowRoot, X, beta, T] (settlement statement v2,
    /// `PayeeList`): the window root, the weight commitment, the challenge and the table sum.
    /// @return True when the proof verifies; false (never a revert) for a proof that does not,
    /// an input not below r, or a point not on the curve.
    function verifyProof(uint256[8] calldata proof, uint256[4] calldata input) external view returns (bool);
}
