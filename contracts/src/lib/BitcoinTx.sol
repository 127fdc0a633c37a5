// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {BitcoinSpv} from "./BitcoinSpv.sol";

/// @title BitcoinTx
/// @notice Parses a Bitcoin coinbase transaction in legacy (non-witness) serialisation:
/// CompactSize integers, the coinbase input with its BIP 34 height, and the outputs that
/// carry the pool's window-root commitment and the reward.
/// @dev Layout (all integers little-endian):
///   version u32 | input count (1) | prevout: 32 zero bytes, index 0xffffffff |
///   scriptSig length (2..100) | scriptSig (starts with the BIP 34 height push) | sequence u32 |
///   output count | { value u64 | scriptPubKey length | scriptPubKey }* | locktime u32
/// Every function is pure over `bytes calldata` and reverts with a `BitcoinTx*` error on
/// malformed input; nothing is read beyond the transaction's end. The commitment output is
/// shared/DESIGN.md item 7: `OP_RETURN OP_PUSHBYTES_37 "SHPF" 0x01 <window root>`. An output
/// is a commitment iff its scriptPubKey is exactly those 39 bytes, whatever its value; any other
/// script (a PUSHDATA1/PUSHDATA2 push of the same bytes, another version, a short or longer
/// script) is not one. The node's parser (share_verifier::commitment) applies the same rule;
/// test/fixtures/coinbase_commitment_vectors.json pins it on both sides (docs/share-log.md).
library BitcoinTx {
    // ---------------------------------------------------------------------------------------
    // Constants
    // ---------------------------------------------------------------------------------------

    /// @dev Bitcoin Core `MAX_MONEY` (src/consensus/amount.h): no output or output sum above.
    uint256 internal constant MAX_MONEY = 21_000_000 * 100_000_000;

    /// @dev Length of the commitment's scriptPubKey: 0x6a 0x25 "SHPF" 0x01 <32 bytes>.
    uint256 internal constant COMMITMENT_SCRIPT_LENGTH = 39;

    /// @dev The commitment script's first 7 bytes: OP_RETURN, OP_PUSHBYTES_37, "SHPF", 0x01.
    bytes7 internal constant COMMITMENT_PREFIX = 0x6a255348504601;

    /// @dev Bitcoin Core `CheckTransaction`: a coinbase scriptSig is 2 to 100 bytes.
    uint256 internal constant MIN_COINBASE_SCRIPT = 2;
    uint256 internal constant MAX_COINBASE_SCRIPT = 100;

    // ---------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------

    /// @notice The transaction ends before `needed` bytes at `offset`.
    error BitcoinTxTruncated(uint256 offset, uint256 needed, uint256 length);

    /// @notice A CompactSize integer at `offset` uses more bytes than its value needs
    /// (Bitcoin Core refuses these: "non-canonical ReadCompactSize()").
    error BitcoinTxNonCanonicalVarInt(uint256 offset);

    /// @notice Not a coinbase: it needs exactly one input, spending the null prevout
    /// (32 zero bytes, index 0xffffffff). `inputs` is the input count read.
    error BitcoinTxNotCoinbase(uint256 inputs);

    /// @notice The coinbase scriptSig is outside 2..100 bytes.
    error BitcoinTxBadCoinbaseScriptLength(uint256 length);

    /// @notice The coinbase scriptSig does not start with a BIP 34 height push.
    error BitcoinTxMissingHeight();

    /// @notice The transaction has no outputs.
    error BitcoinTxNoOutputs();

    /// @notice An output value, or the sum of the rewarded outputs, exceeds `MAX_MONEY`.
    error BitcoinTxValueTooLarge(uint256 value);

    /// @notice Bytes follow the locktime: the transaction is `consumed` bytes, not `length`.
    error BitcoinTxTrailingBytes(uint256 consumed, uint256 length);

    // ---------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------

    /// @notice What settlement needs from a coinbase's outputs.
    /// @param commitments Number of outputs whose script is exactly a commitment script, whatever
    /// their value (1 when valid).
    /// @param windowRoot The root in the first commitment output (0 when there is none).
    /// @param reward Sum of the values of outputs whose script equals the settlement script.
    struct CoinbaseOutputs {
        uint256 commitments;
        bytes32 windowRoot;
        uint256 reward;
    }

    // ---------------------------------------------------------------------------------------
    // Internal
    // ---------------------------------------------------------------------------------------

    /// @notice Reads a CompactSize ("varint") integer.
    /// @param data The serialised data.
    /// @param offset Where the integer starts.
    /// @return value The integer (below 2^64).
    /// @return next The offset just after it.
    function readVarInt(bytes calldata data, uint256 offset) internal pure returns (uint256 value, uint256 next) {
        _need(data, offset, 1);
        uint256 prefix = uint8(data[offset]);
        if (prefix < 0xfd) return (prefix, offset + 1);
        uint256 size = prefix == 0xfd ? 2 : (prefix == 0xfe ? 4 : 8);
        _need(data, offset + 1, size);
        value = _readLE(data, offset + 1, size);
        // Canonical: the shortest form that holds the value.
        uint256 minimum = prefix == 0xfd ? 0xfd : (prefix == 0xfe ? 0x10000 : 0x100000000);
        if (value < minimum) revert BitcoinTxNonCanonicalVarInt(offset);
        return (value, offset + 1 + size);
    }

    /// @notice The block height that the coinbase commits to under BIP 34.
    /// @dev Bitcoin Core writes `CScript() << height`: OP_0 for 0, OP_1..OP_16 for 1..16,
    /// otherwise a push of the minimal little-endian CScriptNum (1 to 5 bytes, sign bit
    /// clear). Only the first push of the scriptSig is read. A false height cannot make a
    /// block pass as confirmed: the light client compares the block hash stored at that
    /// height with the block's own hash.
    /// @param transaction A coinbase in legacy serialisation.
    function coinbaseHeight(bytes calldata transaction) internal pure returns (uint256 height) {
        (uint256 scriptOffset, uint256 scriptLength,) = _coinbaseInput(transaction);
        uint256 opcode = uint8(transaction[scriptOffset]);
        if (opcode == 0x00) return 0;
        if (opcode >= 0x51 && opcode <= 0x60) return opcode - 0x50;
        if (opcode >= 0x01 && opcode <= 0x05 && opcode < scriptLength) {
            height = _readLE(transaction, scriptOffset + 1, opcode);
            // The top bit of the last byte is CScriptNum's sign: a height is never negative.
            if (height >> (8 * opcode - 1) != 0) revert BitcoinTxMissingHeight();
            return height;
        }
        revert BitcoinTxMissingHeight();
    }

    /// @notice Parses the whole coinbase and extracts the commitment and the reward.
    /// @dev Checks the coinbase input, every output and the exact length. The settlement
    /// script is given by its length and keccak256 hash so that the contract keeps no copy in
    /// storage on the hot path.
    /// @param transaction A coinbase in legacy serialisation.
    /// @param scriptHash keccak256 of the settlement scriptPubKey.
    /// @param scriptLength Length of the settlement scriptPubKey in bytes.
    function parseCoinbaseOutputs(bytes calldata transaction, bytes32 scriptHash, uint256 scriptLength)
        internal
        pure
        returns (CoinbaseOutputs memory out)
    {
        (,, uint256 offset) = _coinbaseInput(transaction);
        uint256 count;
        (count, offset) = readVarInt(transaction, offset);
        if (count == 0) revert BitcoinTxNoOutputs();
        // Each output takes at least 9 bytes, so the loop ends by `_need` long before
        // `count` can be large.
        for (uint256 i; i < count; ++i) {
            _need(transaction, offset, 8);
            uint256 value = _readLE(transaction, offset, 8);
            if (value > MAX_MONEY) revert BitcoinTxValueTooLarge(value);
            uint256 length;
            (length, offset) = readVarInt(transaction, offset + 8);
            _need(transaction, offset, length);
            if (length == COMMITMENT_SCRIPT_LENGTH && bytes7(transaction[offset:offset + 7]) == COMMITMENT_PREFIX) {
                if (out.commitments == 0) out.windowRoot = bytes32(transaction[offset + 7:offset + 39]);
                ++out.commitments;
            }
            if (length == scriptLength && keccak256(transaction[offset:offset + length]) == scriptHash) {
                out.reward += value;
                if (out.reward > MAX_MONEY) revert BitcoinTxValueTooLarge(out.reward);
            }
            offset += length;
        }
        _need(transaction, offset, 4);
        if (offset + 4 != transaction.length) revert BitcoinTxTrailingBytes(offset + 4, transaction.length);
    }

    // ---------------------------------------------------------------------------------------
    // Private
    // ---------------------------------------------------------------------------------------

    /// @dev Checks the version and the single null-prevout input; returns where the scriptSig
    /// starts, its length, and the offset of the output count.
    function _coinbaseInput(bytes calldata transaction)
        private
        pure
        returns (uint256 scriptOffset, uint256 scriptLength, uint256 next)
    {
        _need(transaction, 0, 4);
        (uint256 inputs, uint256 offset) = readVarInt(transaction, 4);
        // Zero inputs is also how a witness serialisation starts (marker 0x00): refused too.
        if (inputs != 1) revert BitcoinTxNotCoinbase(inputs);
        _need(transaction, offset, 36);
        if (bytes32(transaction[offset:offset + 32]) != bytes32(0)) revert BitcoinTxNotCoinbase(inputs);
        if (bytes4(transaction[offset + 32:offset + 36]) != 0xffffffff) revert BitcoinTxNotCoinbase(inputs);
        (scriptLength, scriptOffset) = readVarInt(transaction, offset + 36);
        if (scriptLength < MIN_COINBASE_SCRIPT || scriptLength > MAX_COINBASE_SCRIPT) {
            revert BitcoinTxBadCoinbaseScriptLength(scriptLength);
        }
        // scriptSig, then the 4-byte sequence.
        _need(transaction, scriptOffset, scriptLength + 4);
        next = scriptOffset + scriptLength + 4;
    }

    /// @dev Reverts unless `needed` bytes are available at `offset`.
    function _need(bytes calldata data, uint256 offset, uint256 needed) private pure {
        if (offset + needed > data.length) revert BitcoinTxTruncated(offset, needed, data.length);
    }

    /// @dev Little-endian unsigned integer of `size` (<= 32) bytes at `offset`; the caller
    /// has checked the bounds.
    function _readLE(bytes calldata data, uint256 offset, uint256 size) private pure returns (uint256 value) {
        uint256 word;
        assembly ("memory-safe") {
            word := calldataload(add(data.offset, offset))
        }
        // The word's first `size` bytes, byte-reversed: reverse all 32, keep the low `size`.
        value = BitcoinSpv.reverseBytes(word);
        if (size < 32) value &= (uint256(1) << (8 * size)) - 1;
    }
}
