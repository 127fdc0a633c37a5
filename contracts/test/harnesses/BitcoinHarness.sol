// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {BitcoinSpv} from "../../src/lib/BitcoinSpv.sol";
import {BitcoinTx} from "../../src/lib/BitcoinTx.sol";

/// @notice Exposes the parsing libraries' internal functions to tests, with calldata inputs.
contract BitcoinHarness {
    function readVarInt(bytes calldata data, uint256 offset) external pure returns (uint256, uint256) {
        return BitcoinTx.readVarInt(data, offset);
    }

    function coinbaseHeight(bytes calldata transaction) external pure returns (uint256) {
        return BitcoinTx.coinbaseHeight(transaction);
    }

    function parseCoinbaseOutputs(bytes calldata transaction, bytes calldata script)
        external
        pure
        returns (BitcoinTx.CoinbaseOutputs memory)
    {
        return BitcoinTx.parseCoinbaseOutputs(transaction, keccak256(script), script.length);
    }

    function hash256(bytes calldata data) external pure returns (bytes32) {
        return BitcoinSpv.hash256(data);
    }

    function merkleRoot(bytes calldata header) external pure returns (bytes32) {
        return BitcoinSpv.merkleRoot(header);
    }

    function coinbaseMerkleRoot(bytes32 txid, bytes32[] calldata branch) external pure returns (bytes32) {
        return BitcoinSpv.coinbaseMerkleRoot(txid, branch);
    }
}
