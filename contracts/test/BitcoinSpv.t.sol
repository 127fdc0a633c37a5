// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {BlockBuilder} from "./builders/BlockBuilder.sol";
import {MainnetHeaders} from "./data/MainnetHeaders.sol";
import {BitcoinHarness} from "./harnesses/BitcoinHarness.sol";

/// @dev Hashes and coinbase Merkle branches, against real blocks and built trees.
contract BitcoinSpvTest is Test {
    /// @dev The header of the signet block whose coinbase is BitcoinTxTest.SIGNET_COINBASE, built
    /// from the same capture (notify + submit with the rolled version bits); its hash is the
    /// capture's result.json, 0000000000cdd305efb7cb9d86c7dc8eccf504a32fdf781ea053f87b6f5b3642.
    bytes internal constant SIGNET_HEADER =
        hex"00c03a28a714f98740a35e74ba381005654056bb638baf1465de8a33defb2b0000000000ec492993ea4e56b79ef91ba9e79e3d432871bc0634a95852d11c11cd46ab282002b67868ae77031e7000f958";
    bytes internal constant SIGNET_COINBASE =
        hex"01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff2d023c01000402b6786804209eec010c03b6786800000000000000000a636b706f6f6c0a2f7032706f6f6c76322fffffffff030011102401000000160014274466e754a1c12d0a2d2cc34ceb70d8e017053a00e1f50500000000160014a248cf2f99f449511b22bab1a3d001719f84cd090000000000000000266a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf900000000";

    BitcoinHarness internal harness;

    function setUp() public {
        harness = new BitcoinHarness();
    }

    function test_HashesTheGenesisHeader() public view {
        assertEq(harness.hash256(MainnetHeaders.early()[0]), MainnetHeaders.GENESIS_HASH);
    }

    function test_MainnetBlock1CoinbaseIsItsMerkleRoot() public view {
        bytes32 txid = harness.hash256(MainnetHeaders.BLOCK1_COINBASE);
        bytes memory header = MainnetHeaders.early()[1];
        assertEq(harness.coinbaseMerkleRoot(txid, new bytes32[](0)), harness.merkleRoot(header));
    }

    function test_SignetBlockFromTheStratumCapture() public view {
        assertEq(harness.hash256(SIGNET_HEADER), 0x42365b6f7bf853a01e78df2fa304f5cc8edcc7869dcbb7ef05d3cd0000000000);
        bytes32 txid = harness.hash256(SIGNET_COINBASE);
        assertEq(harness.coinbaseMerkleRoot(txid, new bytes32[](0)), harness.merkleRoot(SIGNET_HEADER));
    }

    function testFuzz_CoinbaseBranchLeadsToTheRoot(uint256 count, bytes32 seed) public view {
        count = bound(count, 1, 300);
        bytes32[] memory txids = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            txids[i] = keccak256(abi.encode(seed, i));
        }
        (bytes32 root, bytes32[] memory branch) = BlockBuilder.merkle(txids);
        assertEq(harness.coinbaseMerkleRoot(txids[0], branch), root);
        // Any other leaf at index 0, or a branch missing its last level, misses the root.
        assertNotEq(harness.coinbaseMerkleRoot(txids[count - 1] ^ bytes32(uint256(1)), branch), root);
        if (branch.length > 0) {
            bytes32[] memory shorter = new bytes32[](branch.length - 1);
            for (uint256 i; i < shorter.length; ++i) {
                shorter[i] = branch[i];
            }
            assertNotEq(harness.coinbaseMerkleRoot(txids[0], shorter), root);
        }
    }
}
