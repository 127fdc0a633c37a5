// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Groth16Verifier as N4096Verifier} from "../fixtures/n4096/Groth16Verifier.sol";
import {Vm} from "forge-std/Vm.sol";

/// @title SettlementFixture
/// @notice Reads a settlement proof fixture in the v2 format produced by the circuits crate
/// (test/fixtures/README.md) and deploys the generated verifier it belongs to.
library SettlementFixture {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @notice The fixture the circuits crate writes, for the key of src/Groth16Verifier.sol.
    string internal constant PATH = "test/fixtures/settlement.json";

    /// @notice A documented example of the format with a made-up proof and a real statement.
    string internal constant EXAMPLE_PATH = "test/fixtures/settlement.example.json";

    /// @notice The generated verifier of src/Groth16Verifier.sol (contract Groth16Verifier).
    string internal constant VERIFIER_ARTIFACT = "src/Groth16Verifier.sol:Groth16Verifier";

    /// @notice The fixtures of the N = 4096 key, one per list size, and its verifier (a contract
    /// named Groth16Verifier too, imported here under another name: forge compiles a test's
    /// imports, not every file under test/).
    string internal constant N4096_DIRECTORY = "test/fixtures/n4096/";
    string internal constant N4096_VERIFIER_SOURCE = "test/fixtures/n4096/Groth16Verifier.sol";

    /// @dev One entry of `payees`, as the type description says.
    struct Payee {
        address account;
        uint256 weight;
    }

    string private constant PAYEE_TYPE = "Payee(address account,uint256 weight)";

    /// @notice One fixture: the statement, the allocation the Rust side computed, the proof.
    struct Statement {
        uint256 slots;
        bytes32 windowRoot;
        uint64 reward;
        uint256 feeBps;
        uint256 pageSize;
        address[] accounts;
        uint256[] weights;
        uint256 weightCommitment;
        bytes32 listHash;
        uint256[] amounts;
        uint256 dust;
        uint256[8] proof;
        uint256[4] publicInputs;
    }

    function exists(string memory path) internal view returns (bool) {
        return vm.exists(path);
    }

    function load(string memory path) internal view returns (Statement memory s) {
        string memory json = vm.readFile(path);
        s.slots = vm.parseJsonUint(json, ".slots");
        s.windowRoot = vm.parseJsonBytes32(json, ".windowRoot");
        uint256 reward = vm.parseJsonUint(json, ".reward");
        require(reward < 2 ** 64, "fixture: reward does not fit 64 bits");
        s.reward = uint64(reward);
        s.feeBps = vm.parseJsonUint(json, ".feeBps");
        s.pageSize = vm.parseJsonUint(json, ".pageSize");
        require(s.pageSize > 0, "fixture: pageSize must be positive");

        // The whole list in one typed query: a list of thousands of payees read entry by
        // entry would parse the file once per entry. Weights are decimal strings (they exceed
        // JSON's safe integers); the type description makes them uint256.
        Payee[] memory payees = abi.decode(vm.parseJsonTypeArray(json, ".payees", PAYEE_TYPE), (Payee[]));
        s.accounts = new address[](payees.length);
        s.weights = new uint256[](payees.length);
        for (uint256 i; i < payees.length; ++i) {
            s.accounts[i] = payees[i].account;
            s.weights[i] = payees[i].weight;
        }
        s.amounts = payees.length == 0 ? new uint256[](0) : vm.parseJsonUintArray(json, ".amounts");
        require(s.weights.length == s.accounts.length, "fixture: every payee needs an account and a weight");
        require(s.amounts.length == s.accounts.length, "fixture: one amount per payee");
        for (uint256 i; i < s.weights.length; ++i) {
            require(s.weights[i] < 2 ** 128, "fixture: a weight does not fit 16 bytes");
        }
        s.weightCommitment = vm.parseJsonUint(json, ".weightCommitment");
        s.listHash = vm.parseJsonBytes32(json, ".listHash");
        s.dust = vm.parseJsonUint(json, ".dust");

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
    }

    /// @notice Deploys a generated verifier from its build artifact ("src/File.sol:Contract" or
    /// an artifact file under out/; the source is compiled with the rest once the circuits CLI
    /// has written it).
    function deployVerifier(string memory artifact) internal returns (address) {
        return vm.deployCode(artifact);
    }

    /// @notice Deploys the N = 4096 key's verifier.
    function deployN4096Verifier() internal returns (address) {
        return address(new N4096Verifier());
    }
}
