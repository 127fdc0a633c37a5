// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {SettlementPool} from "../../src/SettlementPool.sol";

/// @notice The settlement pool with its SPV part (`settle` steps 1 to 4) exposed, to measure it.
contract SettlementPoolHarness is SettlementPool {
    constructor(Config memory config) SettlementPool(config) {}

    function proveCoinbase(bytes calldata header, bytes calldata coinbaseTx, bytes32[] calldata merkleProof)
        external
        view
        returns (bytes32 blockHash, bytes32 txid, bytes32 windowRoot, uint256 reward)
    {
        ProvenCoinbase memory proven = _proveCoinbase(header, coinbaseTx, merkleProof);
        return (proven.blockHash, proven.txid, proven.windowRoot, proven.reward);
    }
}
