// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @title GasMeter
/// @notice Turns a transaction's gas (what `vm.snapshotGasLastCall` reports for a state-changing
/// call when tests run with `isolate = true`) into execution gas, by removing the intrinsic
/// 21,000 and the calldata cost (EIP-2028: 16 per non-zero byte, 4 per zero byte).
library GasMeter {
    function calldataCost(bytes memory callData) internal pure returns (uint256 cost) {
        for (uint256 i; i < callData.length; ++i) {
            cost += callData[i] == 0 ? 4 : 16;
        }
    }

    function executionGas(uint256 transactionGas, bytes memory callData) internal pure returns (uint256) {
        return transactionGas - 21_000 - calldataCost(callData);
    }
}
