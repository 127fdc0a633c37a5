// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {BitcoinPow} from "../src/lib/BitcoinPow.sol";

contract BitcoinPowTest is Test {
    /// @dev Signet's parameters (rust-bitcoin `Params::SIGNET`): PoW limit and timespan.
    uint256 internal constant SIGNET_POW_LIMIT = 0x00000377ae << 216;
    uint256 internal constant TIMESPAN = 14 days;

    function test_DecodesCompactTargets() public pure {
        // Vectors from rust-bitcoin's pow.rs tests and Bitcoin Core's arith_uint256 tests.
        _assertTarget(0x01123456, 0x12);
        _assertTarget(0x02008000, 0x80);
        _assertTarget(0x05009234, 0x92340000);
        _assertTarget(0x04123456, 0x12345600);
        _assertTarget(0x1d00ffff, uint256(0xffff) << 208);
        _assertTarget(0x207fffff, uint256(0x7fffff) << 232);
    }

    function test_RejectsZeroNegativeAndOverflowingTargets() public pure {
        _assertInvalid(0x01003456); // rounds to zero
        _assertInvalid(0x00000000);
        _assertInvalid(0x04923456); // sign bit
        _assertInvalid(0xff123456); // exponent far too large
        _assertInvalid(0x21010000); // 0x0100 << 240 needs 257 bits
    }

    function test_EncodesCompactTargets() public pure {
        assertEq(BitcoinPow.targetToBits(uint256(0xffff) << 208), 0x1d00ffff);
        assertEq(BitcoinPow.targetToBits(0x80), 0x02008000);
        assertEq(BitcoinPow.targetToBits(0x12345600), 0x04123456);
        assertEq(BitcoinPow.targetToBits(uint256(0x7fffff) << 232), 0x207fffff);
        // Only the top 23 bits survive.
        assertEq(BitcoinPow.targetToBits((uint256(0xffff) << 208) + 1), 0x1d00ffff);
    }

    function test_WorkOfTheGenesisTarget() public pure {
        assertEq(BitcoinPow.work(uint256(0xffff) << 208), 0x100010001);
        assertEq(BitcoinPow.work(uint256(0x7fffff) << 232), 2);
    }

    function test_RetargetMatchesSignetBlock2016() public pure {
        // rust-bitcoin: signet genesis nBits 503543726, blocks 0..2015 in 1598918400..1599332177.
        (uint256 target,) = BitcoinPow.bitsToTarget(503543726);
        uint256 next = BitcoinPow.retarget(target, 1598918400, 1599332177, TIMESPAN, SIGNET_POW_LIMIT);
        assertEq(BitcoinPow.targetToBits(next), 503394215);
    }

    function test_RetargetMatchesSignetBlock4032() public pure {
        (uint256 target,) = BitcoinPow.bitsToTarget(503394215);
        uint256 next = BitcoinPow.retarget(target, 1599332844, 1600591200, TIMESPAN, SIGNET_POW_LIMIT);
        assertEq(BitcoinPow.targetToBits(next), 503397348);
    }

    function test_RetargetIsCappedAtThePowLimit() public pure {
        (uint256 target,) = BitcoinPow.bitsToTarget(503543726);
        uint256 next = BitcoinPow.retarget(target, 0, 5 * TIMESPAN, TIMESPAN, SIGNET_POW_LIMIT);
        assertEq(next, SIGNET_POW_LIMIT);
    }

    function testFuzz_CanonicalBitsRoundTrip(uint256 exponent, uint256 mantissa) public pure {
        exponent = bound(exponent, 3, 32);
        // A canonical mantissa has a non-zero top byte (when it can) and no sign bit.
        mantissa = bound(mantissa, 0x010000, 0x7fffff);
        uint256 bits = (exponent << 24) | mantissa;
        (uint256 target, bool valid) = BitcoinPow.bitsToTarget(bits);
        assertTrue(valid);
        assertEq(BitcoinPow.targetToBits(target), bits);
    }

    function testFuzz_EncodingKeepsTheTop23Bits(uint256 target) public pure {
        target = bound(target, 1, type(uint256).max >> 1);
        (uint256 decoded, bool valid) = BitcoinPow.bitsToTarget(BitcoinPow.targetToBits(target));
        assertTrue(valid);
        assertLe(decoded, target);
        // The mantissa keeps at least the top 16 bits; what is lost lies below them.
        uint256 bitLength = 256 - _leadingZeros(target);
        if (bitLength > 16) assertLt(target - decoded, uint256(1) << (bitLength - 16));
        else assertEq(decoded, target);
    }

    function testFuzz_RetargetStaysWithinTheClamps(uint256 exponent, uint256 mantissa, uint32 first, uint32 last)
        public
        pure
    {
        exponent = bound(exponent, 0x1a, 0x1c);
        mantissa = bound(mantissa, 0x010000, 0x7fffff);
        (uint256 target,) = BitcoinPow.bitsToTarget((exponent << 24) | mantissa);
        uint256 next = BitcoinPow.retarget(target, first, last, TIMESPAN, uint256(0xffff) << 208);
        assertGe(next, target / 4 - 1);
        assertLe(next, target * 4);
        assertLe(next, uint256(0xffff) << 208);
    }

    function _assertTarget(uint256 bits, uint256 expected) internal pure {
        (uint256 target, bool valid) = BitcoinPow.bitsToTarget(bits);
        assertTrue(valid);
        assertEq(target, expected);
    }

    function _assertInvalid(uint256 bits) internal pure {
        (, bool valid) = BitcoinPow.bitsToTarget(bits);
        assertFalse(valid);
    }

    function _leadingZeros(uint256 x) internal pure returns (uint256 n) {
        if (x == 0) return 256;
        while (x >> 255 == 0) {
            x <<= 1;
            ++n;
        }
    }
}
