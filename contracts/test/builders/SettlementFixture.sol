// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";

import {Payout} from "../../src/lib/PayoutBinding.sol";

/// @title SettlementFixture
/// @notice Reads a settlement proof fixture produced by the circuits crate (format:
/// test/fixtures/README.md) and deploys the generated verifier it belongs to.
library SettlementFixture {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @notice The fixture the circuits crate writes, for the key of src/Groth16Verifier.sol.
    string internal constant PATH = "test/fixtures/settlement.json";

    /// @notice A documented example of the format with a made-up proof.
    string internal constant EXAMPLE_PATH = "test/fixtures/settlement.example.json";

    /// @notice The generated verifier's artifact: src/Groth16Verifier.sol, contract Groth16Verifier.
    string internal constant VERIFIER_ARTIFACT = "Groth16Verifier.sol:Groth16Verifier";
    string internal constant VERIFIER_ARTIFACT_FILE = "out/Groth16Verifier.sol/Groth16Verifier.json";

    struct Statement {
        uint256 n;
        uint256 m;
        bytes32 windowRoot;
        uint64 reward;
        uint256 feeBps;
        Payout[] payouts;
        uint256[8] proof;
        uint256[4] publicInputs;
        bytes32 payoutHash;
    }

    function exists(string memory path) internal view returns (bool) {
        return vm.exists(path);
    }

    function load(string memory path) internal view returns (Statement memory s) {
        string memory json = vm.readFile(path);
        s.n = vm.parseJsonUint(json, ".slots");
        s.m = vm.parseJsonUint(json, ".payoutEntries");
        s.windowRoot = vm.parseJsonBytes32(json, ".windowRoot");
        uint256 reward = vm.parseJsonUint(json, ".reward");
        require(reward < 2 ** 64, "fixture: reward does not fit 64 bits");
        s.reward = uint64(reward);
        s.feeBps = vm.parseJsonUint(json, ".feeBps");

        uint256 count;
        while (vm.keyExistsJson(json, _entry(count))) {
            ++count;
        }
        s.payouts = new Payout[](count);
        for (uint256 i; i < count; ++i) {
            address account = vm.parseJsonAddress(json, string.concat(_entry(i), ".account"));
            uint256 amount = vm.parseJsonUint(json, string.concat(_entry(i), ".amount"));
            require(amount < 2 ** 64, "fixture: payout amount does not fit 64 bits");
            s.payouts[i] = Payout({account: account, amount: uint64(amount)});
        }

        uint256[] memory proof = vm.parseJsonUintArray(json, ".proof");
        require(proof.length == 8, "fixture: proof must have 8 elements");
        for (uint256 i; i < 8; ++i) {
            s.proof[i] = proof[i];
        }
        uint256[] memory input = vm.parseJsonUintArray(json, ".publicInputs");
        require(input.length == 4, "fixture: publicInputs must have 4 elements");
        for (uint256 i; i < 4; ++i) {
            s.publicInputs[i] = input[i];
        }
        if (vm.keyExistsJson(json, ".payoutHash")) s.payoutHash = vm.parseJsonBytes32(json, ".payoutHash");
    }

    function _entry(uint256 index) private pure returns (string memory) {
        return string.concat(".payouts[", vm.toString(index), "]");
    }

    /// @notice Deploys the generated verifier from its build artifact (src/Groth16Verifier.sol is
    /// compiled with the rest of src/ once the circuits CLI has written it).
    function deployVerifier() internal returns (address) {
        require(
            vm.exists(VERIFIER_ARTIFACT_FILE),
            "settlement.json exists but src/Groth16Verifier.sol (contract Groth16Verifier) was not built"
        );
        return vm.deployCode(VERIFIER_ARTIFACT);
    }
}
