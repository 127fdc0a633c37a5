// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @title BitcoinSpv
/// @notice Simplified payment verification helpers: Bitcoin's double SHA-256, the fields of an
/// 80-byte block header and the Merkle branch of a block's coinbase transaction.
/// @dev Hashes are `bytes32` in internal byte order (the raw sha256d output), as in headers'
/// prev-hash and Merkle-root fields; display order is the reverse. SHA-256 runs in the 0x02
/// precompile (Solidity's `sha256`).
library BitcoinSpv {
    /// @notice Bitcoin's hash: SHA-256 applied twice.
    /// @param data The serialised header or (non-witness) transaction.
    function hash256(bytes calldata data) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(sha256(data)));
    }

    /// @notice Bitcoin's hash of bytes in memory (tests and builders).
    function hash256Memory(bytes memory data) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(sha256(data)));
    }

    /// @notice The header's Merkle root field (bytes 36..68), internal byte order.
    /// @param header An 80-byte block header (the caller checks the length).
    function merkleRoot(bytes calldata header) internal pure returns (bytes32 root) {
        return bytes32(header[36:68]);
    }

    /// @notice The Merkle root reached from the transaction at index 0 through `branch`.
    /// @dev At index 0 the running hash is the left child at every level, so each step is
    /// sha256d(node || sibling). An empty branch means a block with one transaction, whose
    /// root is the coinbase txid. The 64-byte-transaction ambiguity is the caller's to refuse
    /// (see `isAmbiguousLength`): an inner node is 64 bytes of hashes and would otherwise pass
    /// as a "transaction" one level up.
    /// @param txid The coinbase's txid (internal byte order).
    /// @param branch The siblings from the bottom level upwards (internal byte order).
    function coinbaseMerkleRoot(bytes32 txid, bytes32[] calldata branch) internal pure returns (bytes32 node) {
        node = txid;
        uint256 length = branch.length;
        for (uint256 i; i < length;) {
            node = sha256(abi.encodePacked(sha256(abi.encodePacked(node, branch[i]))));
            // Cannot overflow: i < length <= calldata size.
            unchecked {
                ++i;
            }
        }
    }

    /// @notice A hash read as a little-endian 256-bit number, the way proof of work compares it
    /// with the target (Bitcoin Core `UintToArith256`).
    function toWorkNumber(bytes32 hash) internal pure returns (uint256) {
        return reverseBytes(uint256(hash));
    }

    /// @notice Reverses the byte order of a 256-bit word.
    function reverseBytes(uint256 v) internal pure returns (uint256) {
        v = ((v & 0xFF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00) >> 8)
            | ((v & 0x00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF) << 8);
        v = ((v & 0xFFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000) >> 16)
            | ((v & 0x0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF) << 16);
        v = ((v & 0xFFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000) >> 32)
            | ((v & 0x00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF) << 32);
        v = ((v & 0xFFFFFFFFFFFFFFFF0000000000000000FFFFFFFFFFFFFFFF0000000000000000) >> 64)
            | ((v & 0x0000000000000000FFFFFFFFFFFFFFFF0000000000000000FFFFFFFFFFFFFFFF) << 64);
        return (v >> 128) | (v << 128);
    }

    /// @notice Whether a serialised transaction could also be read as a Merkle inner node.
    /// @dev An inner node is exactly two 32-byte hashes; refusing 64-byte transactions removes
    /// the ambiguity (see the "leaf-node weakness" and BIP 54's consensus cleanup).
    function isAmbiguousLength(bytes calldata transaction) internal pure returns (bool) {
        return transaction.length == 64;
    }
}
