// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IBtcLightClient} from "./interfaces/IBtcLightClient.sol";
import {BitcoinPow} from "./lib/BitcoinPow.sol";
import {BitcoinSpv} from "./lib/BitcoinSpv.sol";

/// @title BtcLightClient
/// @notice A Bitcoin header chain on this chain. Anyone submits batches of 80-byte headers;
/// each is checked for its link to its parent, its proof of work against its nBits, and the
/// network's difficulty rule. The contract follows the chain with the most work from a
/// checkpoint fixed at deployment and reorganises when a heavier fork arrives.
/// @dev Storage design (one new slot per header):
/// - `_hashAt[height]`: the best chain only, one hash per height. Membership of a block and
///   its confirmations are one lookup: `_hashAt[height] == hash`, `tip - height + 1`.
/// - `_periods[period]`: the timestamp of a retarget period's first block and the period's
///   nBits (every block of a period has the same nBits under these rules), written once per
///   period. The work of any stretch of the best chain follows from it, so forks need no
///   per-header work record.
/// - `_tip`: the tip's height, time, nBits, period start and chain work in one word.
/// - `_times`: the timestamps of the best chain's last 14 blocks, a ring in two words, for the
///   median-time-past rule; read once and written once per batch.
/// Side branches are not stored: a fork is submitted whole from its best-chain parent and is
/// accepted only when it carries strictly more work than the blocks it replaces, as Bitcoin
/// Core's first-seen rule does for equal work.
/// Timestamps follow Bitcoin Core's `ContextualCheckBlockHeader`: a header's time must be above
/// the median of its 11 predecessors' times (BIP 113's median time past) and at most two hours
/// after this chain's `block.timestamp`. The median needs the 11 predecessors' times from the
/// ring, so it is not checked for the first 11 headers above the checkpoint, nor for the first
/// headers of a fork whose parent is more than 3 blocks below the tip (their older ancestors
/// have left the ring); the future-time rule applies to every header.
/// Network rules (docs/ARCHITECTURE.md, "Contracts' interfaces"): `retargetInterval` 0 means
/// every header repeats its parent's nBits (regtest); otherwise the first block of each
/// period gets Bitcoin's retarget with the 4x clamp, capped at `powLimit` (mainnet: 2016
/// blocks, 1,209,600 s).
contract BtcLightClient is IBtcLightClient {
    using SafeCast for uint256;

    // ---------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------

    /// @notice The difficulty rules of the followed network.
    /// @param powLimit The easiest target allowed (mainnet 0x00000000ffff << 208).
    /// @param retargetInterval Blocks per retarget period; 0 disables retargeting.
    /// @param targetTimespan Expected seconds per period (ignored without retargeting).
    struct NetworkRules {
        uint256 powLimit;
        uint256 retargetInterval;
        uint256 targetTimespan;
    }

    /// @notice The trusted starting point.
    /// @param header The checkpoint block's 80-byte header.
    /// @param height Its height.
    /// @param chainWork Chain work up to and including it (informational; 0 is fine).
    /// @param periodStartTime Timestamp of the first block of its retarget period; ignored
    /// when the checkpoint starts a period or the network does not retarget.
    struct Checkpoint {
        bytes header;
        uint256 height;
        uint256 chainWork;
        uint256 periodStartTime;
    }

    /// @dev The running state while a batch is checked: the previous header's values, and
    /// whether the next header is the first of a fork.
    /// `times0`, `times1` and `timesFrom` are the `_times` ring being updated: a header's
    /// median time past is checked when its 11 predecessors are at or above `timesFrom`.
    struct Cursor {
        bytes32 hash;
        uint256 height;
        bool forkStart;
        uint256 time;
        uint256 bits;
        uint256 target;
        uint256 blockWork;
        uint256 periodStart;
        uint256 times0;
        uint256 times1;
        uint256 timesFrom;
    }

    /// @dev The best-chain stretch that a fork replaces: its work, its tip.
    struct Replaced {
        uint256 work;
        bytes32 tipHash;
        uint256 tipHeight;
    }

    // ---------------------------------------------------------------------------------------
    // Constants
    // ---------------------------------------------------------------------------------------

    uint256 private constant _HEADER_SIZE = 80;

    /// @dev Bitcoin Core `MAX_FUTURE_BLOCK_TIME` (src/chain.h): two hours.
    uint256 private constant _MAX_FUTURE_BLOCK_TIME = 2 hours;

    /// @dev Bitcoin Core `CBlockIndex::nMedianTimeSpan`: the median of the last 11 blocks.
    uint256 private constant _MEDIAN_TIME_SPAN = 11;

    /// @dev Timestamps kept in the `_times` ring (7 per word, two words).
    uint256 private constant _TIME_RING = 14;
    uint256 private constant _TIMES_PER_WORD = 7;
    uint256 private constant _TIME_MASK = 0xffffffff;
    /// @dev A bit above the times in word 1, so that the word is never zero and writing it never
    /// costs a zero-to-nonzero store (20,000 gas) after deployment.
    uint256 private constant _TIMES_SENTINEL = 1 << 255;

    // ---------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------

    /// @notice The network rules are unusable (zero PoW limit, or retargeting without a
    /// timespan, or values above 32 bits).
    error LightClientInvalidRules(uint256 powLimit, uint256 retargetInterval, uint256 targetTimespan);

    /// @notice The checkpoint is unusable: not 80 bytes, nBits invalid or above the PoW limit,
    /// a missing period start, or values that do not fit their fields.
    error LightClientInvalidCheckpoint(uint256 height);

    /// @notice The submitted bytes are not a positive multiple of 80.
    error LightClientBadHeadersLength(uint256 length);

    /// @notice `parentHeight` is not a best-chain height (checkpoint..tip).
    error LightClientUnknownParent(uint256 parentHeight, uint256 checkpointHeight, uint256 tipHeight);

    /// @notice The header at `height` does not build on the previous one.
    error LightClientBrokenLink(uint256 height, bytes32 prevHash, bytes32 parentHash);

    /// @notice The header at `height` has nBits `bits` where the difficulty rule gives `expected`.
    error LightClientUnexpectedBits(uint256 height, uint32 bits, uint32 expected);

    /// @notice The difficulty rule gives an nBits at `height` that encodes no valid target.
    error LightClientInvalidTarget(uint256 height, uint32 bits);

    /// @notice The header's hash, read as a little-endian number, is above its target.
    error LightClientInsufficientProofOfWork(uint256 height, bytes32 blockHash, uint256 target);

    /// @notice A fork after `parentHeight` carries `forkWork`, not more than the `replacedWork`
    /// of the best-chain blocks after the same parent.
    error LightClientForkNotHeavier(uint256 parentHeight, uint256 forkWork, uint256 replacedWork);

    /// @notice The header at `height` has time `time`, not above `medianTimePast`, the median of
    /// its 11 predecessors' times (Bitcoin Core's "time-too-old").
    error LightClientTimeTooOld(uint256 height, uint256 time, uint256 medianTimePast);

    /// @notice The header at `height` has time `time`, more than two hours after `blockTime`, this
    /// chain's `block.timestamp` (Bitcoin Core's "time-too-new").
    error LightClientTimeTooNew(uint256 height, uint256 time, uint256 blockTime);

    // ---------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------

    /// @notice Headers `firstHeight..tipHeight` were added; `tipHash` is the new tip.
    event HeadersAdded(uint256 firstHeight, uint256 tipHeight, bytes32 indexed tipHash);

    /// @notice The best chain switched to a heavier fork built on the block at `parentHeight`.
    event ChainReorganized(
        uint256 indexed parentHeight, bytes32 oldTipHash, uint256 oldTipHeight, bytes32 newTipHash, uint256 newTipHeight
    );

    // ---------------------------------------------------------------------------------------
    // Immutables
    // ---------------------------------------------------------------------------------------

    uint256 private immutable _powLimit;
    uint256 private immutable _retargetInterval;
    uint256 private immutable _targetTimespan;
    uint256 private immutable _checkpointHeight;

    // ---------------------------------------------------------------------------------------
    // Storage
    // ---------------------------------------------------------------------------------------

    /// @dev Best-chain block hash per height, checkpoint..tip; cleared above the tip after a
    /// reorganisation to a shorter (heavier) chain.
    mapping(uint256 height => bytes32 blockHash) private _hashAt;

    /// @dev Per retarget period (height / retargetInterval; always 0 without retargeting):
    /// bits 0..31 the timestamp of the period's first block, bits 32..63 the period's nBits.
    mapping(uint256 period => uint256 packed) private _periods;

    /// @dev The tip: bits 0..31 height, 32..63 time, 64..95 nBits, 96..127 the start time of
    /// its period, 128..255 chain work.
    uint256 private _tip;

    /// @dev Timestamps of the best chain's last `_TIME_RING` blocks: the time of height h at
    /// ring position p = h % 14, 32 bits each, positions 0..6 in word 0 (bits 32p) and 7..13
    /// in word 1 (bits 32(p - 7)). Bits 224..255 of word 0: the lowest height whose time the
    /// ring may hold (the checkpoint, or the first header of a fork deeper than the ring);
    /// heights below the tip's last 14 have been overwritten whatever it says. Bit 255 of word 1
    /// is always set (`_TIMES_SENTINEL`).
    uint256[2] private _times;

    // ---------------------------------------------------------------------------------------
    // Constructor
    // ---------------------------------------------------------------------------------------

    /// @param checkpoint The trusted block the chain starts from.
    /// @param rules The network's difficulty rules.
    constructor(Checkpoint memory checkpoint, NetworkRules memory rules) {
        if (
            rules.powLimit == 0 || rules.retargetInterval > type(uint32).max || rules.targetTimespan > type(uint32).max
                || (rules.retargetInterval != 0 && rules.targetTimespan == 0)
        ) {
            revert LightClientInvalidRules(rules.powLimit, rules.retargetInterval, rules.targetTimespan);
        }
        bytes memory header = checkpoint.header;
        if (
            header.length != _HEADER_SIZE || checkpoint.height > type(uint32).max
                || checkpoint.chainWork > type(uint128).max
        ) {
            revert LightClientInvalidCheckpoint(checkpoint.height);
        }
        (bytes32 blockHash,, uint256 time, uint256 bits) = _readHeaderMemory(header);
        (uint256 target, bool valid) = BitcoinPow.bitsToTarget(bits);
        if (!valid || target > rules.powLimit) revert LightClientInvalidCheckpoint(checkpoint.height);

        uint256 periodStart = checkpoint.periodStartTime;
        if (rules.retargetInterval == 0 || checkpoint.height % rules.retargetInterval == 0) {
            periodStart = time;
        } else if (periodStart == 0 || periodStart > type(uint32).max) {
            revert LightClientInvalidCheckpoint(checkpoint.height);
        }

        _powLimit = rules.powLimit;
        _retargetInterval = rules.retargetInterval;
        _targetTimespan = rules.targetTimespan;
        _checkpointHeight = checkpoint.height;

        _hashAt[checkpoint.height] = blockHash;
        _periods[_periodOf(checkpoint.height, rules.retargetInterval)] = periodStart | (bits << 32);
        uint256 position = checkpoint.height % _TIME_RING;
        if (position < _TIMES_PER_WORD) {
            _times[0] = (checkpoint.height << 224) | (time << (32 * position));
            _times[1] = _TIMES_SENTINEL;
        } else {
            _times[0] = checkpoint.height << 224;
            _times[1] = _TIMES_SENTINEL | (time << (32 * (position - _TIMES_PER_WORD)));
        }
        _tip = _packTip(checkpoint.height, time, bits, periodStart, checkpoint.chainWork);
        emit HeadersAdded(checkpoint.height, checkpoint.height, blockHash);
    }

    // ---------------------------------------------------------------------------------------
    // External
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IBtcLightClient
    function submitHeaders(uint256 parentHeight, bytes calldata headers) external {
        uint256 count = headers.length / _HEADER_SIZE;
        if (count == 0 || headers.length != count * _HEADER_SIZE) revert LightClientBadHeadersLength(headers.length);

        uint256 tipWord = _tip;
        uint256 tipHeight = uint32(tipWord);
        if (parentHeight > tipHeight || parentHeight < _checkpointHeight) {
            revert LightClientUnknownParent(parentHeight, _checkpointHeight, tipHeight);
        }
        bool fork = parentHeight != tipHeight;
        Cursor memory cursor = _startCursor(parentHeight, tipWord, fork);
        // What a fork replaces, read before its headers overwrite heights and periods.
        Replaced memory replaced;
        if (fork) replaced = Replaced(_workAfter(parentHeight, tipHeight), _hashAt[tipHeight], tipHeight);

        uint256 branchWork;
        for (uint256 i; i < count; ++i) {
            branchWork += _acceptHeader(cursor, headers, i);
        }

        uint256 newTipHeight = parentHeight + count;
        uint256 chainWork = tipWord >> 128;
        if (fork) {
            chainWork = _reorganise(parentHeight, newTipHeight, branchWork, replaced, cursor.hash, chainWork);
        } else {
            chainWork += branchWork;
        }
        _tip = _packTip(newTipHeight, cursor.time, cursor.bits, cursor.periodStart, chainWork);
        _times[0] = cursor.times0 | (cursor.timesFrom << 224);
        _times[1] = cursor.times1;
        emit HeadersAdded(parentHeight + 1, newTipHeight, cursor.hash);
    }

    /// @inheritdoc IBtcLightClient
    function confirmations(bytes32 blockHash, uint256 height) external view returns (uint256) {
        if (blockHash == bytes32(0) || _hashAt[height] != blockHash) return 0;
        // `_hashAt` holds nothing above the tip, so height <= tip here.
        return uint32(_tip) - height + 1;
    }

    /// @inheritdoc IBtcLightClient
    function isInBestChain(bytes32 blockHash, uint256 height) external view returns (bool) {
        return blockHash != bytes32(0) && _hashAt[height] == blockHash;
    }

    /// @inheritdoc IBtcLightClient
    function blockHashAt(uint256 height) external view returns (bytes32) {
        return _hashAt[height];
    }

    /// @inheritdoc IBtcLightClient
    function tip() external view returns (uint256 height, bytes32 blockHash, uint256 chainWork) {
        uint256 tipWord = _tip;
        height = uint32(tipWord);
        blockHash = _hashAt[height];
        chainWork = tipWord >> 128;
    }

    /// @notice The tip header's timestamp and nBits, and the start time of its retarget period.
    function tipState() external view returns (uint256 time, uint32 bits, uint256 periodStartTime) {
        uint256 tipWord = _tip;
        return (uint32(tipWord >> 32), uint32(tipWord >> 64), uint32(tipWord >> 96));
    }

    /// @notice The difficulty rules given at deployment.
    function networkRules() external view returns (NetworkRules memory) {
        return NetworkRules({powLimit: _powLimit, retargetInterval: _retargetInterval, targetTimespan: _targetTimespan});
    }

    /// @notice Height of the deployment checkpoint; no header below it can be submitted.
    function checkpointHeight() external view returns (uint256) {
        return _checkpointHeight;
    }

    // ---------------------------------------------------------------------------------------
    // Private
    // ---------------------------------------------------------------------------------------

    /// @dev Accepts a fork that carries more work than the stretch it replaces, clears the old
    /// chain's heights above the new tip, and returns the new chain work.
    function _reorganise(
        uint256 parentHeight,
        uint256 newTipHeight,
        uint256 branchWork,
        Replaced memory replaced,
        bytes32 newTipHash,
        uint256 chainWork
    ) private returns (uint256) {
        if (branchWork <= replaced.work) {
            revert LightClientForkNotHeavier(parentHeight, branchWork, replaced.work);
        }
        // A heavier fork can be shorter (a retarget made its blocks harder): the old chain's
        // heights above the new tip leave the best chain.
        for (uint256 height = newTipHeight + 1; height <= replaced.tipHeight; ++height) {
            delete _hashAt[height];
        }
        emit ChainReorganized(parentHeight, replaced.tipHash, replaced.tipHeight, newTipHash, newTipHeight);
        return chainWork - replaced.work + branchWork;
    }

    /// @dev The state after the parent block. For the tip it is all in `_tip`. For a fork's
    /// parent the time is not stored; it is only needed for a retarget right after the parent,
    /// and that block's nBits is then the best chain's own (same parent, same rule).
    /// The time ring holds the best chain's heights from max(`timesFrom`, tip - 13) to the tip;
    /// for a fork only those up to the parent are its ancestors, and its own headers overwrite
    /// the others before they are read (a position is reused only 14 heights later).
    function _startCursor(uint256 parentHeight, uint256 tipWord, bool fork)
        private
        view
        returns (Cursor memory cursor)
    {
        cursor.hash = _hashAt[parentHeight];
        cursor.height = parentHeight;
        cursor.forkStart = fork;
        uint256 times0 = _times[0];
        cursor.times0 = times0 & ((uint256(1) << 224) - 1);
        cursor.times1 = _times[1];
        uint256 timesFrom = times0 >> 224;
        uint256 tipHeight = uint32(tipWord);
        if (tipHeight + 1 > timesFrom + _TIME_RING) timesFrom = tipHeight + 1 - _TIME_RING;
        if (timesFrom > parentHeight + 1) timesFrom = parentHeight + 1;
        cursor.timesFrom = timesFrom;
        if (fork) {
            uint256 period = _periods[_periodOf(parentHeight, _retargetInterval)];
            cursor.periodStart = uint32(period);
            cursor.bits = uint32(period >> 32);
        } else {
            cursor.time = uint32(tipWord >> 32);
            cursor.bits = uint32(tipWord >> 64);
            cursor.periodStart = uint32(tipWord >> 96);
        }
        (cursor.target,) = BitcoinPow.bitsToTarget(cursor.bits);
        cursor.blockWork = BitcoinPow.work(cursor.target);
    }

    /// @dev Checks header `index` of the batch against `cursor` (its parent), stores it as the
    /// best chain's block at the next height and advances `cursor`. Returns its work.
    function _acceptHeader(Cursor memory cursor, bytes calldata headers, uint256 index) private returns (uint256) {
        uint256 height = cursor.height + 1;
        (bytes32 blockHash, bytes32 prevHash, uint256 time, uint256 bits) = _readHeader(headers, index);
        if (prevHash != cursor.hash) revert LightClientBrokenLink(height, prevHash, cursor.hash);

        uint256 interval = _retargetInterval;
        if (interval != 0 && height % interval == 0) {
            _startPeriod(cursor, height, time, bits);
        } else if (bits != cursor.bits) {
            revert LightClientUnexpectedBits(height, uint32(bits), uint32(cursor.bits));
        }

        if (BitcoinSpv.toWorkNumber(blockHash) > cursor.target) {
            revert LightClientInsufficientProofOfWork(height, blockHash, cursor.target);
        }
        _checkTime(cursor, height, time);

        _hashAt[height] = blockHash;
        cursor.hash = blockHash;
        cursor.height = height;
        cursor.time = time;
        cursor.forkStart = false;
        return cursor.blockWork;
    }

    /// @dev The first block of a retarget period: its nBits must be the retarget of the last
    /// period (Bitcoin Core `CalculateNextWorkRequired`), or for a fork's first header the
    /// best chain's own. Records the new period.
    function _startPeriod(Cursor memory cursor, uint256 height, uint256 time, uint256 bits) private {
        uint256 interval = _retargetInterval;
        uint256 expected = cursor.forkStart
            ? uint32(_periods[height / interval] >> 32)
            : BitcoinPow.targetToBits(
                BitcoinPow.retarget(cursor.target, cursor.periodStart, cursor.time, _targetTimespan, _powLimit)
            );
        if (bits != expected) revert LightClientUnexpectedBits(height, uint32(bits), uint32(expected));
        (uint256 target, bool valid) = BitcoinPow.bitsToTarget(expected);
        if (!valid) revert LightClientInvalidTarget(height, uint32(expected));
        cursor.target = target;
        cursor.blockWork = BitcoinPow.work(target);
        cursor.bits = expected;
        cursor.periodStart = time;
        _periods[height / interval] = time | (expected << 32);
    }

    /// @dev Bitcoin Core's timestamp rules for the header at `height`, then records its time in
    /// the ring. time > median of the 11 previous times iff at least 6 of them are below time,
    /// so the check counts instead of sorting; the median itself is computed only for the error.
    function _checkTime(Cursor memory cursor, uint256 height, uint256 time) private view {
        if (time > block.timestamp + _MAX_FUTURE_BLOCK_TIME) {
            revert LightClientTimeTooNew(height, time, block.timestamp);
        }
        uint256 times0 = cursor.times0;
        uint256 times1 = cursor.times1;
        if (height >= cursor.timesFrom + _MEDIAN_TIME_SPAN) {
            uint256 below;
            assembly ("memory-safe") {
                // Entries of word `w` (7 times of 32 bits) below `t`.
                function belowIn(w, t) -> c {
                    let m := 0xffffffff
                    c := add(
                        add(add(lt(and(w, m), t), lt(and(shr(32, w), m), t)), lt(and(shr(64, w), m), t)),
                        add(
                            add(lt(and(shr(96, w), m), t), lt(and(shr(128, w), m), t)),
                            add(lt(and(shr(160, w), m), t), lt(and(shr(192, w), m), t))
                        )
                    )
                }
                // The time at ring position `p`: word p / 7, bits 32 * (p % 7).
                function at(w0, w1, p) -> t {
                    let high := gt(p, 6)
                    let w := xor(w0, mul(high, xor(w0, w1)))
                    t := and(shr(mul(32, sub(p, mul(7, high))), w), 0xffffffff)
                }
                // All 14 entries, less the 3 that are not predecessors: heights height - 14 ..
                // height - 12, at positions height % 14 .. (height + 2) % 14.
                below := add(belowIn(times0, time), belowIn(times1, time))
                below := sub(
                    below,
                    add(
                        add(
                            lt(at(times0, times1, mod(height, 14)), time),
                            lt(at(times0, times1, mod(add(height, 1), 14)), time)
                        ),
                        lt(at(times0, times1, mod(add(height, 2), 14)), time)
                    )
                )
            }
            if (below <= _MEDIAN_TIME_SPAN / 2) {
                revert LightClientTimeTooOld(height, time, _medianTimePast(cursor, height));
            }
        }
        // Cannot overflow: position < 14, so shifts stay below 224.
        unchecked {
            uint256 position = height % _TIME_RING;
            if (position < _TIMES_PER_WORD) {
                uint256 shift = 32 * position;
                cursor.times0 = (times0 & ~(_TIME_MASK << shift)) | (time << shift);
            } else {
                uint256 shift = 32 * (position - _TIMES_PER_WORD);
                cursor.times1 = (times1 & ~(_TIME_MASK << shift)) | (time << shift);
            }
        }
    }

    /// @dev The time of best-chain height `height` from the ring (the caller knows it is there).
    function _ringTime(Cursor memory cursor, uint256 height) private pure returns (uint256) {
        uint256 position = height % _TIME_RING;
        return position < _TIMES_PER_WORD
            ? (cursor.times0 >> (32 * position)) & _TIME_MASK
            : (cursor.times1 >> (32 * (position - _TIMES_PER_WORD))) & _TIME_MASK;
    }

    /// @dev The median of the times of the 11 blocks before `height` (Bitcoin Core
    /// `GetMedianTimePast`: sorted, the middle one). Only on the error path.
    function _medianTimePast(Cursor memory cursor, uint256 height) private pure returns (uint256) {
        uint256[] memory times = new uint256[](_MEDIAN_TIME_SPAN);
        for (uint256 i; i < _MEDIAN_TIME_SPAN; ++i) {
            uint256 t = _ringTime(cursor, height - _MEDIAN_TIME_SPAN + i);
            uint256 j = i;
            for (; j > 0 && times[j - 1] > t; --j) {
                times[j] = times[j - 1];
            }
            times[j] = t;
        }
        return times[_MEDIAN_TIME_SPAN / 2];
    }

    /// @dev Work of the best-chain blocks `from + 1 ..= to`, from each period's nBits.
    function _workAfter(uint256 from, uint256 to) private view returns (uint256 total) {
        uint256 interval = _retargetInterval;
        uint256 height = from + 1;
        while (height <= to) {
            uint256 period = _periodOf(height, interval);
            uint256 last = interval == 0 ? to : (period + 1) * interval - 1;
            if (last > to) last = to;
            (uint256 target,) = BitcoinPow.bitsToTarget(uint32(_periods[period] >> 32));
            total += (last - height + 1) * BitcoinPow.work(target);
            height = last + 1;
        }
    }

    /// @dev Reads header `index` of a batch: its hash and the fields the checks need.
    /// Time and nBits are little-endian u32s at bytes 68 and 72.
    function _readHeader(bytes calldata headers, uint256 index)
        private
        view
        returns (bytes32 blockHash, bytes32 prevHash, uint256 time, uint256 bits)
    {
        assembly ("memory-safe") {
            // Scratch memory past the free memory pointer; nothing is allocated.
            let ptr := mload(0x40)
            calldatacopy(ptr, add(headers.offset, mul(index, 80)), 80)
            prevHash := mload(add(ptr, 4))
            let tail := mload(add(ptr, 68))
            let t := shr(224, tail)
            time := or(or(shl(24, and(t, 0xff)), shl(8, and(t, 0xff00))), or(shr(8, and(t, 0xff0000)), shr(24, t)))
            let b := and(shr(192, tail), 0xffffffff)
            bits := or(or(shl(24, and(b, 0xff)), shl(8, and(b, 0xff00))), or(shr(8, and(b, 0xff0000)), shr(24, b)))
            // sha256(sha256(header)) through the 0x02 precompile, in the scratch slot 0x00.
            if iszero(staticcall(gas(), 0x02, ptr, 80, 0x00, 0x20)) { revert(0, 0) }
            if iszero(staticcall(gas(), 0x02, 0x00, 0x20, 0x00, 0x20)) { revert(0, 0) }
            blockHash := mload(0x00)
        }
    }

    /// @dev `_readHeader` for a header in memory (the checkpoint).
    function _readHeaderMemory(bytes memory header)
        private
        pure
        returns (bytes32 blockHash, bytes32 prevHash, uint256 time, uint256 bits)
    {
        blockHash = BitcoinSpv.hash256Memory(header);
        uint256 tail;
        assembly ("memory-safe") {
            prevHash := mload(add(header, 36))
            tail := mload(add(header, 100))
        }
        time = BitcoinSpv.reverseBytes(tail) & 0xffffffff;
        bits = (BitcoinSpv.reverseBytes(tail) >> 32) & 0xffffffff;
    }

    function _periodOf(uint256 height, uint256 interval) private pure returns (uint256) {
        return interval == 0 ? 0 : height / interval;
    }

    function _packTip(uint256 height, uint256 time, uint256 bits, uint256 periodStart, uint256 chainWork)
        private
        pure
        returns (uint256)
    {
        return uint256(height.toUint32()) | (time << 32) | (bits << 64) | (periodStart << 96)
            | (uint256(chainWork.toUint128()) << 128);
    }
}
