// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {PayeeListBuilder} from "./PayeeListBuilder.sol";

/// @title StatementReference
/// @notice A straightforward reference for the settlement statement v2 (docs/settlement.md,
/// "The settlement statement") and the allocation (DESIGN item 8), written apart from the
/// contract so that tests compare two computations: beta from plain `abi.encodePacked`, T one
/// record at a time with one modexp inversion per record (no batching), amounts by the
/// formula. Slow; for tests only.
library StatementReference {
    /// @notice The BN254 scalar field order r, spelled out again rather than imported.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice beta = uint256(keccak256(windowRoot ‖ X ‖ listHash)) mod r.
    function challenge(bytes32 windowRoot, uint256 weightCommitment, bytes32 listHash) internal pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(windowRoot, weightCommitment, listHash))) % R;
    }

    /// @notice T = sum_j W_j * (beta - A_j)^(r - 2) mod r, one modexp per record.
    function tableSum(uint256 beta, PayeeListBuilder.Payees memory p) internal view returns (uint256 t) {
        for (uint256 j; j < p.accounts.length; ++j) {
            uint256 a = uint256(uint160(p.accounts[j]));
            uint256 d = (beta + R - a) % R;
            require(d != 0, "reference: beta is an account");
            uint256 inv = modexp(d, R - 2);
            require(mulmod(d, inv, R) == 1, "reference: not an inverse");
            t = addmod(t, mulmod(p.weights[j] % R, inv, R), R);
        }
    }

    /// @notice base^exponent mod r through the precompile at 0x05.
    function modexp(uint256 base, uint256 exponent) internal view returns (uint256) {
        (bool ok, bytes memory out) =
            address(0x05).staticcall(abi.encodePacked(uint256(32), uint256(32), uint256(32), base, exponent, R));
        require(ok && out.length == 32, "reference: modexp failed");
        return abi.decode(out, (uint256));
    }

    /// @notice DESIGN item 8: fee = R * feeBps / 10000, net = R - fee, amount_j =
    /// floor(net * W_j / W), dust = net - sum amount_j (all of net when W = 0).
    function allocate(uint256 reward, uint256 feeBps, uint256[] memory weights)
        internal
        pure
        returns (uint256[] memory amounts, uint256 fee, uint256 dust)
    {
        fee = reward * feeBps / 10_000;
        uint256 net = reward - fee;
        uint256 total;
        for (uint256 j; j < weights.length; ++j) {
            total += weights[j];
        }
        amounts = new uint256[](weights.length);
        uint256 paid;
        for (uint256 j; j < weights.length; ++j) {
            amounts[j] = net * weights[j] / total;
            paid += amounts[j];
        }
        dust = net - paid;
    }
}
