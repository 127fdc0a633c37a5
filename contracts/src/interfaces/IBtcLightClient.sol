// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @title IBtcLightClient
/// @notice A Bitcoin header chain kept on this chain: it follows the valid chain with the most
/// work from a checkpoint and answers which blocks are in it.
/// @dev Block hashes are `bytes32` in internal byte order (raw sha256d of the header).
/// Queries take the block's height beside its hash: the light client stores one hash per
/// height of its best chain (one storage slot per header), and a caller that proves a
/// coinbase knows the height from the coinbase itself (BIP 34). A wrong height can only make a
/// block look absent, never present.
interface IBtcLightClient {
    /// @notice Adds headers after the best-chain block at `parentHeight`.
    /// @dev When `parentHeight` is the tip this extends the chain. Otherwise the headers form a
    /// fork that must carry strictly more work than the best-chain blocks after
    /// `parentHeight`; it then becomes the best chain (a reorganisation).
    /// @param parentHeight Height of the best-chain block that the first header builds on.
    /// @param headers Concatenated 80-byte headers, each the parent of the next.
    function submitHeaders(uint256 parentHeight, bytes calldata headers) external;

    /// @notice The number of confirmations of a best-chain block: 1 for the tip, 0 when the
    /// block is not in the best chain at `height`.
    function confirmations(bytes32 blockHash, uint256 height) external view returns (uint256);

    /// @notice Whether `blockHash` is the best-chain block at `height`.
    function isInBestChain(bytes32 blockHash, uint256 height) external view returns (bool);

    /// @notice The best-chain block hash at `height` (0 outside checkpoint..tip).
    function blockHashAt(uint256 height) external view returns (bytes32);

    /// @notice The best chain's tip.
    /// @return height The tip's height.
    /// @return blockHash The tip's hash.
    /// @return chainWork Work of the best chain: the checkpoint's chain work plus the work of
    /// every header after it.
    function tip() external view returns (uint256 height, bytes32 blockHash, uint256 chainWork);
}
