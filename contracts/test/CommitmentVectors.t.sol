// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {SettlementPool} from "../src/SettlementPool.sol";
import {PoolScenario} from "./builders/PoolScenario.sol";
import {BitcoinHarness} from "./harnesses/BitcoinHarness.sol";
import {SettlementPoolHarness} from "./harnesses/SettlementPoolHarness.sol";
import {RejectingVerifier} from "./mocks/RejectingVerifier.sol";

/// @dev The coinbase commitment rule shared with the node (test/fixtures/
/// coinbase_commitment_vectors.json, also read by share-verifier's
/// `every_shared_coinbase_gets_the_verdict_the_contracts_reach`): each coinbase is mined into
/// a block at height 1 and goes through settlement's SPV part (`settle` steps 1 to 4); the
/// verdict must be the file's root, or the revert of the file's error kind.
contract CommitmentVectorsTest is PoolScenario {
    string internal constant PATH = "test/fixtures/coinbase_commitment_vectors.json";

    SettlementPoolHarness internal harness;
    BitcoinHarness internal parser;

    function setUp() public {
        RejectingVerifier verifier = new RejectingVerifier();
        _deploy(verifier, 100, 1);
        harness = new SettlementPoolHarness(
            SettlementPool.Config({
                lightClient: lightClient,
                verifier: verifier,
                token: token,
                pegIn: pegIn,
                settlementScript: SETTLEMENT_SCRIPT,
                feeRecipient: feeRecipient,
                feeBps: 100,
                confirmations: 1,
                windowSize: WINDOW_SIZE
            })
        );
        parser = new BitcoinHarness();
    }

    function test_EverySharedCoinbaseGetsTheVerdictTheNodeReaches() public {
        string memory json = vm.readFile(PATH);
        assertEq(vm.parseJsonBytes(json, ".settlementScript"), SETTLEMENT_SCRIPT);
        uint256 count;
        while (vm.keyExistsJson(json, _entry(count))) {
            uint256 snapshot = vm.snapshotState();
            _check(json, _entry(count));
            vm.revertToState(snapshot);
            ++count;
        }
        assertGe(count, 11, "the file holds every case of the rule");
    }

    /// @dev One vector: the parser's reward, then the SPV part of `settle` on a block holding it.
    function _check(string memory json, string memory entry) private {
        string memory name = vm.parseJsonString(json, string.concat(entry, ".name"));
        bytes memory coinbase = vm.parseJsonBytes(json, string.concat(entry, ".coinbase"));
        string memory error = vm.parseJsonString(json, string.concat(entry, ".error"));
        uint256 reward = vm.parseJsonUint(json, string.concat(entry, ".reward"));
        bytes32 root = vm.parseJsonBytes32(json, string.concat(entry, ".windowRoot"));

        assertEq(parser.parseCoinbaseOutputs(coinbase, SETTLEMENT_SCRIPT).reward, reward, name);
        MinedBlock memory b = _mine(coinbase, 2);
        try harness.proveCoinbase(b.header, b.coinbase, b.branch) returns (
            bytes32 blockHash, bytes32 txid, bytes32 windowRoot, uint256 proven
        ) {
            assertEq(error, "", name);
            assertEq(windowRoot, root, name);
            assertEq(proven, reward, name);
            assertEq(blockHash, b.blockHash, name);
            assertEq(txid, b.txid, name);
        } catch (bytes memory reason) {
            assertEq(bytes4(reason), _selector(error), name);
        }
    }

    /// @dev The settlement error of each error kind of the vectors.
    function _selector(string memory error) private pure returns (bytes4) {
        bytes32 kind = keccak256(bytes(error));
        if (kind == keccak256("missing")) return SettlementPool.SettlementCommitmentMissing.selector;
        if (kind == keccak256("duplicate")) return SettlementPool.SettlementCommitmentDuplicated.selector;
        if (kind == keccak256("root_not_in_field")) {
            return SettlementPool.SettlementCommitmentRootNotInField.selector;
        }
        revert(string.concat("unknown error kind: ", error));
    }

    function _entry(uint256 index) private pure returns (string memory) {
        return string.concat(".vectors[", vm.toString(index), "]");
    }
}
