// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title BitcoinPow
/// @notice Bitcoin's proof-of-work arithmetic: compact targets (nBits), block work and the
/// difficulty retarget. Mirrors Bitcoin Core's `arith_uint256::SetCompact`/`GetCompact`,
/// `GetBlockProof` and `CalculateNextWorkRequired` (src/pow.cpp) bit for bit.
/// @dev Used by the light client (state) and by tests; every function is pure.
library BitcoinPow {
    /// @notice Decodes a compact target ("nBits").
    /// @dev Bitcoin Core `arith_uint256::SetCompact`: the top byte is a base-256 exponent,
    /// the low 23 bits a mantissa, bit 23 a sign. `valid` is false for a negative, zero or
    /// overflowing target, which `CheckProofOfWork` refuses.
    /// @param bits The header's nBits field, as a number (not its little-endian bytes).
    /// @return target The 256-bit target (0 when not valid).
    /// @return valid Whether the compact value encodes a positive target below 2^256.
    function bitsToTarget(uint256 bits) internal pure returns (uint256 target, bool valid) {
        bits &= 0xffffffff;
        uint256 exponent = bits >> 24;
        uint256 mantissa = bits & 0x007fffff;
        if (exponent <= 3) {
            target = mantissa >> (8 * (3 - exponent));
        } else {
            bool overflow = mantissa != 0
                && (exponent > 34 || (mantissa > 0xff && exponent > 33) || (mantissa > 0xffff && exponent > 32));
            if (overflow) return (0, false);
            target = mantissa << (8 * (exponent - 3));
        }
        bool negative = mantissa != 0 && (bits & 0x00800000) != 0;
        if (negative || target == 0) return (0, false);
        return (target, true);
    }

    /// @notice Encodes a target as nBits, dropping all but its 23 most significant bits.
    /// @dev Bitcoin Core `arith_uint256::GetCompact` for a non-negative number.
    /// @param target A target below 2^256 - 1.
    /// @return bits The compact encoding.
    function targetToBits(uint256 target) internal pure returns (uint32 bits) {
        if (target == 0) return 0;
        uint256 size = Math.log256(target) + 1;
        uint256 compact = size <= 3 ? target << (8 * (3 - size)) : target >> (8 * (size - 3));
        // The mantissa's top bit is the sign: move a set bit into the exponent.
        if (compact & 0x00800000 != 0) {
            compact >>= 8;
            size += 1;
        }
        return uint32(compact | (size << 24));
    }

    /// @notice The expected number of hashes to meet `target`: floor(2^256 / (target + 1)).
    /// @dev Bitcoin Core `GetBlockProof`: (~target / (target + 1)) + 1 computes it in 256 bits.
    /// @param target A target below 2^256 - 1 (every decoded nBits is).
    function work(uint256 target) internal pure returns (uint256) {
        // Cannot overflow: target + 1 <= 2^256 - 1 by the precondition, and the quotient of
        // ~target by a positive number is below 2^256 - 1.
        unchecked {
            return (~target / (target + 1)) + 1;
        }
    }

    /// @notice The target of the first block of a retarget period.
    /// @dev Bitcoin Core `CalculateNextWorkRequired`: the previous target times the actual
    /// timespan of the period (clamped to [expected / 4, expected * 4]) divided by the expected
    /// timespan, capped at the PoW limit. The product is taken in 512 bits, so networks with a
    /// PoW limit close to 2^256 cannot overflow; where Core's 256-bit product does not overflow
    /// the results are equal.
    /// @param previousTarget The decoded nBits of the period's last block.
    /// @param firstTime Timestamp of the period's first block (seconds).
    /// @param lastTime Timestamp of the period's last block (seconds).
    /// @param targetTimespan The expected duration of a period (seconds, > 0).
    /// @param powLimit The network's easiest target.
    function retarget(
        uint256 previousTarget,
        uint256 firstTime,
        uint256 lastTime,
        uint256 targetTimespan,
        uint256 powLimit
    ) internal pure returns (uint256) {
        uint256 minTimespan = targetTimespan / 4;
        uint256 maxTimespan = targetTimespan * 4;
        // Timestamps only have to beat the median time past, so a period can "end before it
        // starts"; Core's signed arithmetic then clamps to the minimum.
        uint256 actual = lastTime > firstTime ? lastTime - firstTime : 0;
        if (actual < minTimespan) actual = minTimespan;
        if (actual > maxTimespan) actual = maxTimespan;
        uint256 next = Math.mulDiv(previousTarget, actual, targetTimespan);
        return next > powLimit ? powLimit : next;
    }
}
