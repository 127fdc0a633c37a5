// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {BitcoinTx} from "../src/lib/BitcoinTx.sol";
import {BitcoinHarness} from "./harnesses/BitcoinHarness.sol";

/// @dev The shared vector of the node's coinbase builder (test/fixtures/node_coinbases.json,
/// written and checked by the node's `the_contracts_coinbase_vectors_are_this_builders_output`):
/// every coinbase the node builds parses here to the height, window root and reward the node
/// committed to.
contract NodeCoinbaseVectorTest is Test {
    string internal constant PATH = "test/fixtures/node_coinbases.json";

    BitcoinHarness internal harness;

    function setUp() public {
        harness = new BitcoinHarness();
    }

    function test_NodeCoinbasesParseToTheirHeightRootAndReward() public view {
        string memory json = vm.readFile(PATH);
        bytes memory script = vm.parseJsonBytes(json, ".settlementScript");
        uint256 count;
        while (vm.keyExistsJson(json, _entry(count))) {
            string memory entry = _entry(count);
            bytes memory coinbase = vm.parseJsonBytes(json, string.concat(entry, ".coinbase"));
            assertEq(harness.coinbaseHeight(coinbase), vm.parseJsonUint(json, string.concat(entry, ".height")));
            BitcoinTx.CoinbaseOutputs memory out = harness.parseCoinbaseOutputs(coinbase, script);
            assertEq(out.commitments, 1);
            assertEq(out.windowRoot, vm.parseJsonBytes32(json, string.concat(entry, ".windowRoot")));
            assertEq(out.reward, vm.parseJsonUint(json, string.concat(entry, ".reward")));
            ++count;
        }
        assertEq(count, 5, "the vector holds five coinbases");
    }

    function _entry(uint256 index) private pure returns (string memory) {
        return string.concat(".coinbases[", vm.toString(index), "]");
    }
}
