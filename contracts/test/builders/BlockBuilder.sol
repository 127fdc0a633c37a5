// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {BitcoinPow} from "../../src/lib/BitcoinPow.sol";
import {BitcoinSpv} from "../../src/lib/BitcoinSpv.sol";

/// @title BlockBuilder
/// @notice Builds and mines Bitcoin block headers and Merkle trees for tests. Mining loops over
/// the nonce until the header meets its nBits, which is quick at regtest difficulty
/// (0x207fffff: one hash in two).
library BlockBuilder {
    /// @notice Regtest's nBits and PoW limit.
    uint32 internal constant REGTEST_BITS = 0x207fffff;
    uint256 internal constant REGTEST_POW_LIMIT = 0x7fffff << 232;

    /// @notice Serialises an 80-byte header.
    function header(uint32 version, bytes32 prevHash, bytes32 merkleRoot, uint32 time, uint32 bits, uint32 nonce)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(le32(version), prevHash, merkleRoot, le32(time), le32(bits), le32(nonce));
    }

    /// @notice Mines a header: the first nonce from `salt` whose hash meets `bits`.
    function mine(bytes32 prevHash, bytes32 merkleRoot, uint32 time, uint32 bits, uint32 salt)
        internal
        pure
        returns (bytes memory h)
    {
        (uint256 target,) = BitcoinPow.bitsToTarget(bits);
        for (uint32 nonce = salt;; ++nonce) {
            h = header(0x20000000, prevHash, merkleRoot, time, bits, nonce);
            if (BitcoinSpv.toWorkNumber(BitcoinSpv.hash256Memory(h)) <= target) return h;
        }
    }

    /// @notice Mines a header that does NOT meet `bits` (for negative tests).
    function mineFailing(bytes32 prevHash, bytes32 merkleRoot, uint32 time, uint32 bits)
        internal
        pure
        returns (bytes memory h)
    {
        (uint256 target,) = BitcoinPow.bitsToTarget(bits);
        for (uint32 nonce;; ++nonce) {
            h = header(0x20000000, prevHash, merkleRoot, time, bits, nonce);
            if (BitcoinSpv.toWorkNumber(BitcoinSpv.hash256Memory(h)) > target) return h;
        }
    }

    /// @notice The header's hash (internal byte order).
    function hashOf(bytes memory h) internal pure returns (bytes32) {
        return BitcoinSpv.hash256Memory(h);
    }

    /// @notice The Merkle root of `txids` (Bitcoin's rule: an odd last node pairs with itself)
    /// and the branch of the transaction at index 0.
    function merkle(bytes32[] memory txids) internal pure returns (bytes32 root, bytes32[] memory branch) {
        bytes32[] memory level = txids;
        bytes32[] memory path = new bytes32[](64);
        uint256 depth;
        while (level.length > 1) {
            path[depth++] = level[1];
            uint256 size = (level.length + 1) / 2;
            bytes32[] memory next = new bytes32[](size);
            for (uint256 i; i < size; ++i) {
                bytes32 left = level[2 * i];
                bytes32 right = 2 * i + 1 < level.length ? level[2 * i + 1] : left;
                next[i] = BitcoinSpv.hash256Memory(abi.encodePacked(left, right));
            }
            level = next;
        }
        root = level[0];
        branch = new bytes32[](depth);
        for (uint256 i; i < depth; ++i) {
            branch[i] = path[i];
        }
    }

    function le32(uint32 v) internal pure returns (bytes4) {
        return bytes4(uint32((v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24)));
    }
}
