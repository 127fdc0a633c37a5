// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @title CoinbaseBuilder
/// @notice Builds Bitcoin coinbase transactions in legacy serialisation, the way the node's
/// template builder does (shared/DESIGN.md item 7): a BIP 34 height push opens the scriptSig,
/// the reward outputs pay the settlement script, one OP_RETURN output carries the commitment.
library CoinbaseBuilder {
    struct Output {
        uint64 value;
        bytes script;
    }

    /// @notice `OP_RETURN OP_PUSHBYTES_37 "SHPF" 0x01 <root>` (39 bytes).
    function commitmentScript(bytes32 windowRoot) internal pure returns (bytes memory) {
        return abi.encodePacked(hex"6a25", "SHPF", hex"01", windowRoot);
    }

    /// @notice Bitcoin Core's `CScript() << height`: OP_0, OP_1..OP_16, or a minimal
    /// little-endian CScriptNum push.
    function heightPush(uint256 height) internal pure returns (bytes memory) {
        if (height == 0) return hex"00";
        if (height <= 16) return abi.encodePacked(uint8(0x50 + height));
        bytes memory digits = new bytes(0);
        uint256 rest = height;
        while (rest != 0) {
            digits = abi.encodePacked(digits, uint8(rest & 0xff));
            rest >>= 8;
        }
        // A set top bit would read as negative: add a zero byte.
        if (uint8(digits[digits.length - 1]) & 0x80 != 0) digits = abi.encodePacked(digits, uint8(0));
        return abi.encodePacked(uint8(digits.length), digits);
    }

    /// @notice A coinbase: version 2, the null prevout, scriptSig = height push || extra,
    /// sequence 0xffffffff, the outputs, locktime 0.
    function coinbase(uint256 height, bytes memory extra, Output[] memory outputs)
        internal
        pure
        returns (bytes memory transaction)
    {
        bytes memory scriptSig = abi.encodePacked(heightPush(height), extra);
        transaction = abi.encodePacked(
            hex"02000000", hex"01", bytes32(0), hex"ffffffff", varInt(scriptSig.length), scriptSig, hex"ffffffff"
        );
        transaction = abi.encodePacked(transaction, varInt(outputs.length));
        for (uint256 i; i < outputs.length; ++i) {
            transaction = abi.encodePacked(
                transaction, le64(outputs[i].value), varInt(outputs[i].script.length), outputs[i].script
            );
        }
        transaction = abi.encodePacked(transaction, hex"00000000");
    }

    /// @notice The pool's usual coinbase: the reward to `script`, then the commitment.
    function poolCoinbase(uint256 height, bytes32 windowRoot, uint64 reward, bytes memory script)
        internal
        pure
        returns (bytes memory)
    {
        Output[] memory outputs = new Output[](2);
        outputs[0] = Output(reward, script);
        outputs[1] = Output(0, commitmentScript(windowRoot));
        return coinbase(height, hex"0123456789abcdef", outputs);
    }

    /// @notice CompactSize encoding, canonical.
    function varInt(uint256 value) internal pure returns (bytes memory) {
        if (value < 0xfd) return abi.encodePacked(uint8(value));
        if (value <= 0xffff) return abi.encodePacked(hex"fd", le16(value));
        if (value <= 0xffffffff) return abi.encodePacked(hex"fe", le32(value));
        return abi.encodePacked(hex"ff", le64(uint64(value)));
    }

    function le16(uint256 v) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(v), uint8(v >> 8));
    }

    function le32(uint256 v) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(v), uint8(v >> 8), uint8(v >> 16), uint8(v >> 24));
    }

    function le64(uint64 v) internal pure returns (bytes memory) {
        return abi.encodePacked(le32(uint32(v)), le32(uint32(v >> 32)));
    }
}
