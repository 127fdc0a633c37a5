// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {BitcoinTx} from "../src/lib/BitcoinTx.sol";
import {CoinbaseBuilder} from "./builders/CoinbaseBuilder.sol";
import {BitcoinHarness} from "./harnesses/BitcoinHarness.sol";
import {MainnetHeaders} from "./data/MainnetHeaders.sol";

/// @dev The coinbase parser: the pool's format, real coinbases, every malformation, and fuzzing.
contract BitcoinTxTest is Test {
    bytes internal constant SCRIPT = hex"0014000102030405060708090a0b0c0d0e0f10111213";

    /// @dev A signet coinbase from ckpool, assembled from shared/vectors/stratum-captures/
    /// with_version_rolling: coinb1 || extranonce1 (03b67868) || extranonce2 (8 zero bytes) || coinb2.
    bytes internal constant SIGNET_COINBASE =
        hex"01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff2d023c01000402b6786804209eec010c03b6786800000000000000000a636b706f6f6c0a2f7032706f6f6c76322fffffffff030011102401000000160014274466e754a1c12d0a2d2cc34ceb70d8e017053a00e1f50500000000160014a248cf2f99f449511b22bab1a3d001719f84cd090000000000000000266a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf900000000";

    BitcoinHarness internal harness;

    function setUp() public {
        harness = new BitcoinHarness();
    }

    // ----- the pool's coinbase ---------------------------------------------------------------

    function test_ParsesThePoolCoinbase() public view {
        bytes32 root = keccak256("window root");
        bytes memory coinbase = CoinbaseBuilder.poolCoinbase(840_000, root, 312_500_000, SCRIPT);
        assertEq(harness.coinbaseHeight(coinbase), 840_000);
        BitcoinTx.CoinbaseOutputs memory out = harness.parseCoinbaseOutputs(coinbase, SCRIPT);
        assertEq(out.commitments, 1);
        assertEq(out.windowRoot, root);
        assertEq(out.reward, 312_500_000);
    }

    function test_RewardSumsEveryOutputPayingTheSettlementScript() public view {
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](5);
        outputs[0] = CoinbaseBuilder.Output(100, SCRIPT);
        outputs[1] = CoinbaseBuilder.Output(7, hex"0014ffffffffffffffffffffffffffffffffffffffff");
        outputs[2] = CoinbaseBuilder.Output(0, CoinbaseBuilder.commitmentScript(bytes32(uint256(1))));
        outputs[3] = CoinbaseBuilder.Output(250, SCRIPT);
        // The same bytes plus one: not the settlement script.
        outputs[4] = CoinbaseBuilder.Output(1_000, abi.encodePacked(SCRIPT, hex"00"));
        bytes memory coinbase = CoinbaseBuilder.coinbase(5, hex"aabb", outputs);
        BitcoinTx.CoinbaseOutputs memory out = harness.parseCoinbaseOutputs(coinbase, SCRIPT);
        assertEq(out.reward, 350);
        assertEq(out.windowRoot, bytes32(uint256(1)));
    }

    function test_CountsEveryCommitmentAndKeepsTheFirstRoot() public view {
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](3);
        outputs[0] = CoinbaseBuilder.Output(0, CoinbaseBuilder.commitmentScript(bytes32(uint256(1))));
        outputs[1] = CoinbaseBuilder.Output(1, SCRIPT);
        outputs[2] = CoinbaseBuilder.Output(0, CoinbaseBuilder.commitmentScript(bytes32(uint256(2))));
        BitcoinTx.CoinbaseOutputs memory out =
            harness.parseCoinbaseOutputs(CoinbaseBuilder.coinbase(5, hex"aabb", outputs), SCRIPT);
        assertEq(out.commitments, 2);
        assertEq(out.windowRoot, bytes32(uint256(1)));
    }

    function test_IgnoresLookalikeCommitments() public view {
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](4);
        bytes32 root = bytes32(uint256(9));
        // Version 2, another magic, and a 31-byte root: none is a commitment.
        outputs[0] = CoinbaseBuilder.Output(0, abi.encodePacked(hex"6a25", "SHPF", hex"02", root));
        outputs[1] = CoinbaseBuilder.Output(0, abi.encodePacked(hex"6a25", "SHPG", hex"01", root));
        outputs[2] = CoinbaseBuilder.Output(0, abi.encodePacked(hex"6a24", "SHPF", hex"01", bytes31(root)));
        outputs[3] = CoinbaseBuilder.Output(1, SCRIPT);
        BitcoinTx.CoinbaseOutputs memory out =
            harness.parseCoinbaseOutputs(CoinbaseBuilder.coinbase(5, hex"aabb", outputs), SCRIPT);
        assertEq(out.commitments, 0);
        assertEq(out.windowRoot, bytes32(0));
    }

    // ----- real coinbases ---------------------------------------------------------------------

    function test_ParsesARealSignetCoinbase() public view {
        assertEq(harness.coinbaseHeight(SIGNET_COINBASE), 316);
        BitcoinTx.CoinbaseOutputs memory out =
            harness.parseCoinbaseOutputs(SIGNET_COINBASE, hex"0014274466e754a1c12d0a2d2cc34ceb70d8e017053a");
        assertEq(out.reward, 49_00_000_000);
        assertEq(out.commitments, 0);
        out = harness.parseCoinbaseOutputs(SIGNET_COINBASE, hex"0014a248cf2f99f449511b22bab1a3d001719f84cd09");
        assertEq(out.reward, 1_00_000_000);
    }

    function test_ParsesMainnetBlock1Coinbase() public view {
        bytes memory p2pk =
            hex"410496b538e853519c726a2c91e61ec11600ae1390813a627c66fb8be7947be63c52da7589379515d4e0a604f8141781e62294721166bf621e73a82cbf2342c858eeac";
        BitcoinTx.CoinbaseOutputs memory out = harness.parseCoinbaseOutputs(MainnetHeaders.BLOCK1_COINBASE, p2pk);
        assertEq(out.reward, 50_00_000_000);
        // Before BIP 34 the first push was nBits (0x1d00ffff), read here as a "height".
        assertEq(harness.coinbaseHeight(MainnetHeaders.BLOCK1_COINBASE), 0x1d00ffff);
    }

    // ----- BIP 34 heights ---------------------------------------------------------------------

    function test_ReadsSmallHeightsAsOpcodes() public view {
        assertEq(harness.coinbaseHeight(_withScriptSig(hex"0000")), 0);
        assertEq(harness.coinbaseHeight(_withScriptSig(hex"5100")), 1);
        assertEq(harness.coinbaseHeight(_withScriptSig(hex"6000")), 16);
        assertEq(harness.coinbaseHeight(_withScriptSig(hex"011100")), 17);
        assertEq(harness.coinbaseHeight(_withScriptSig(hex"02800000")), 128);
    }

    function testFuzz_HeightRoundTrips(uint32 height) public view {
        bytes memory coinbase = CoinbaseBuilder.poolCoinbase(height, bytes32(0), 1, SCRIPT);
        assertEq(harness.coinbaseHeight(coinbase), height);
    }

    function test_RevertWhen_HeightIsNegative() public {
        vm.expectRevert(BitcoinTx.BitcoinTxMissingHeight.selector);
        harness.coinbaseHeight(_withScriptSig(hex"0181"));
    }

    function test_RevertWhen_ScriptSigDoesNotStartWithAHeight() public {
        vm.expectRevert(BitcoinTx.BitcoinTxMissingHeight.selector);
        harness.coinbaseHeight(_withScriptSig(hex"4c0100")); // OP_PUSHDATA1
        vm.expectRevert(BitcoinTx.BitcoinTxMissingHeight.selector);
        harness.coinbaseHeight(_withScriptSig(hex"0311")); // a 3-byte push with 1 byte left
    }

    // ----- malformed transactions -------------------------------------------------------------

    function test_RevertWhen_TwoInputs() public {
        bytes memory coinbase = _coinbase();
        coinbase[4] = 0x02;
        vm.expectRevert(abi.encodeWithSelector(BitcoinTx.BitcoinTxNotCoinbase.selector, 2));
        harness.coinbaseHeight(coinbase);
    }

    function test_RevertWhen_WitnessSerialisation() public {
        // Marker 0x00 and flag 0x01 after the version: read as zero inputs.
        bytes memory coinbase = _coinbase();
        bytes memory witness =
            abi.encodePacked(_slice(coinbase, 0, 4), hex"0001", _slice(coinbase, 4, coinbase.length - 4));
        vm.expectRevert(abi.encodeWithSelector(BitcoinTx.BitcoinTxNotCoinbase.selector, 0));
        harness.coinbaseHeight(witness);
    }

    function test_RevertWhen_PrevoutIsNotNull() public {
        bytes memory coinbase = _coinbase();
        coinbase[5] = 0x01; // first byte of the prevout hash
        vm.expectRevert(abi.encodeWithSelector(BitcoinTx.BitcoinTxNotCoinbase.selector, 1));
        harness.coinbaseHeight(coinbase);
        coinbase = _coinbase();
        coinbase[37] = 0xfe; // the prevout index 0xffffffff -> 0xfffffffe
        vm.expectRevert(abi.encodeWithSelector(BitcoinTx.BitcoinTxNotCoinbase.selector, 1));
        harness.coinbaseHeight(coinbase);
    }

    function test_RevertWhen_CoinbaseScriptIsTooShortOrTooLong() public {
        vm.expectRevert(abi.encodeWithSelector(BitcoinTx.BitcoinTxBadCoinbaseScriptLength.selector, 1));
        harness.coinbaseHeight(_withScriptSig(hex"51"));
        vm.expectRevert(abi.encodeWithSelector(BitcoinTx.BitcoinTxBadCoinbaseScriptLength.selector, 101));
        harness.coinbaseHeight(_withScriptSig(new bytes(101)));
    }

    function test_RevertWhen_NoOutputs() public {
        bytes memory coinbase = CoinbaseBuilder.coinbase(5, hex"aabb", new CoinbaseBuilder.Output[](0));
        vm.expectRevert(BitcoinTx.BitcoinTxNoOutputs.selector);
        harness.parseCoinbaseOutputs(coinbase, SCRIPT);
    }

    function test_RevertWhen_ValueAboveMaxMoney() public {
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](1);
        outputs[0] = CoinbaseBuilder.Output(uint64(BitcoinTx.MAX_MONEY + 1), SCRIPT);
        vm.expectRevert(abi.encodeWithSelector(BitcoinTx.BitcoinTxValueTooLarge.selector, BitcoinTx.MAX_MONEY + 1));
        harness.parseCoinbaseOutputs(CoinbaseBuilder.coinbase(5, hex"aabb", outputs), SCRIPT);
    }

    function test_RevertWhen_RewardSumAboveMaxMoney() public {
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](2);
        outputs[0] = CoinbaseBuilder.Output(uint64(BitcoinTx.MAX_MONEY), SCRIPT);
        outputs[1] = CoinbaseBuilder.Output(1, SCRIPT);
        vm.expectRevert(abi.encodeWithSelector(BitcoinTx.BitcoinTxValueTooLarge.selector, BitcoinTx.MAX_MONEY + 1));
        harness.parseCoinbaseOutputs(CoinbaseBuilder.coinbase(5, hex"aabb", outputs), SCRIPT);
    }

    function test_RevertWhen_BytesFollowTheLocktime() public {
        bytes memory coinbase = abi.encodePacked(_coinbase(), hex"00");
        vm.expectRevert(
            abi.encodeWithSelector(BitcoinTx.BitcoinTxTrailingBytes.selector, coinbase.length - 1, coinbase.length)
        );
        harness.parseCoinbaseOutputs(coinbase, SCRIPT);
    }

    function testFuzz_RevertWhen_Truncated(uint256 length) public {
        bytes memory coinbase = _coinbase();
        length = bound(length, 0, coinbase.length - 1);
        vm.expectRevert();
        harness.parseCoinbaseOutputs(_slice(coinbase, 0, length), SCRIPT);
    }

    // ----- varints ----------------------------------------------------------------------------

    function testFuzz_VarIntRoundTrips(uint64 value, bytes calldata prefix) public view {
        bytes memory data = abi.encodePacked(prefix, CoinbaseBuilder.varInt(value), hex"ff");
        (uint256 read, uint256 next) = harness.readVarInt(data, prefix.length);
        assertEq(read, value);
        assertEq(next, data.length - 1);
    }

    function testFuzz_RevertWhen_VarIntIsNotCanonical(uint64 value, uint256 width) public {
        // Encode `value` in a wider form than it needs.
        width = bound(width, 0, 2);
        bytes memory data;
        if (width == 0) {
            value = uint64(bound(value, 0, 0xfc));
            data = abi.encodePacked(hex"fd", CoinbaseBuilder.le16(value));
        } else if (width == 1) {
            value = uint64(bound(value, 0, 0xffff));
            data = abi.encodePacked(hex"fe", CoinbaseBuilder.le32(value));
        } else {
            value = uint64(bound(value, 0, 0xffffffff));
            data = abi.encodePacked(hex"ff", CoinbaseBuilder.le64(value));
        }
        vm.expectRevert(abi.encodeWithSelector(BitcoinTx.BitcoinTxNonCanonicalVarInt.selector, 0));
        harness.readVarInt(data, 0);
    }

    function test_RevertWhen_VarIntIsTruncated() public {
        vm.expectRevert(abi.encodeWithSelector(BitcoinTx.BitcoinTxTruncated.selector, 1, 4, 3));
        harness.readVarInt(hex"fe0000", 0);
        vm.expectRevert(abi.encodeWithSelector(BitcoinTx.BitcoinTxTruncated.selector, 0, 1, 0));
        harness.readVarInt("", 0);
    }

    // ----- fuzzing the whole parser -----------------------------------------------------------

    function testFuzz_BuiltCoinbasesParseBack(
        uint32 height,
        bytes32 root,
        uint64 reward,
        uint64 otherValue,
        bytes calldata extra,
        uint256 position
    ) public view {
        reward = uint64(bound(reward, 0, BitcoinTx.MAX_MONEY));
        otherValue = uint64(bound(otherValue, 0, BitcoinTx.MAX_MONEY));
        bytes memory extraNonce = extra.length > 90 ? extra[:90] : extra;
        position = bound(position, 0, 2);
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](3);
        outputs[position] = CoinbaseBuilder.Output(0, CoinbaseBuilder.commitmentScript(root));
        outputs[(position + 1) % 3] = CoinbaseBuilder.Output(reward, SCRIPT);
        outputs[(position + 2) % 3] = CoinbaseBuilder.Output(otherValue, hex"51");
        bytes memory coinbase = CoinbaseBuilder.coinbase(height, abi.encodePacked(hex"00", extraNonce), outputs);

        assertEq(harness.coinbaseHeight(coinbase), height);
        BitcoinTx.CoinbaseOutputs memory out = harness.parseCoinbaseOutputs(coinbase, SCRIPT);
        assertEq(out.commitments, 1);
        assertEq(out.windowRoot, root);
        assertEq(out.reward, reward);
    }

    function testFuzz_ArbitraryBytesRevertOnlyWithParserErrors(bytes calldata data) public view {
        _assertOnlyParserErrors(data);
    }

    function testFuzz_MutatedCoinbasesRevertOnlyWithParserErrors(uint256 index, uint8 value) public view {
        bytes memory coinbase = _coinbase();
        coinbase[bound(index, 0, coinbase.length - 1)] = bytes1(value);
        _assertOnlyParserErrors(coinbase);
    }

    function _assertOnlyParserErrors(bytes memory data) internal view {
        try harness.parseCoinbaseOutputs(data, SCRIPT) {}
        catch (bytes memory reason) {
            assertTrue(_isParserError(reason), "parser reverted without a BitcoinTx error");
        }
        try harness.coinbaseHeight(data) {}
        catch (bytes memory reason) {
            assertTrue(_isParserError(reason), "height reverted without a BitcoinTx error");
        }
    }

    function _isParserError(bytes memory reason) internal pure returns (bool) {
        if (reason.length < 4) return false;
        bytes4 selector = bytes4(reason);
        return selector == BitcoinTx.BitcoinTxTruncated.selector
            || selector == BitcoinTx.BitcoinTxNonCanonicalVarInt.selector
            || selector == BitcoinTx.BitcoinTxNotCoinbase.selector
            || selector == BitcoinTx.BitcoinTxBadCoinbaseScriptLength.selector
            || selector == BitcoinTx.BitcoinTxMissingHeight.selector
            || selector == BitcoinTx.BitcoinTxNoOutputs.selector
            || selector == BitcoinTx.BitcoinTxValueTooLarge.selector
            || selector == BitcoinTx.BitcoinTxTrailingBytes.selector;
    }

    function _coinbase() internal pure returns (bytes memory) {
        return CoinbaseBuilder.poolCoinbase(1000, keccak256("root"), 5_000_000_000, SCRIPT);
    }

    /// @dev A one-output coinbase whose scriptSig is exactly `scriptSig`.
    function _withScriptSig(bytes memory scriptSig) internal pure returns (bytes memory) {
        return abi.encodePacked(
            hex"02000000",
            hex"01",
            bytes32(0),
            hex"ffffffff",
            CoinbaseBuilder.varInt(scriptSig.length),
            scriptSig,
            hex"ffffffff",
            hex"01",
            CoinbaseBuilder.le64(1),
            CoinbaseBuilder.varInt(SCRIPT.length),
            SCRIPT,
            hex"00000000"
        );
    }

    function _slice(bytes memory data, uint256 from, uint256 length) internal pure returns (bytes memory out) {
        out = new bytes(length);
        for (uint256 i; i < length; ++i) {
            out[i] = data[from + i];
        }
    }
}
