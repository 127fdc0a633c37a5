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
/// Side branches are not stored: a fork is submitted whole from its best-chain parent and is
/// accepted only when it carries strictly more work than the blocks it replaces, as Bitcoin
/// Core's first-seen rule does for equal work. Median-time-past and future-time checks are
/// not made: they need 11 ancestors per header, and a timestamp cannot add work.
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
    struct Cursor {
        bytes32 hash;
        uint256 height;
        bool forkStart;
        uint256 time;
        uint256 bits;
        uint256 target;
        uint256 blockWork;
        uint256 periodStart;
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
    function _startCursor(uint256 parentHeight, uint256 tipWord, bool fork)
        private
        view
        returns (Cursor memory cursor)
    {
        cursor.hash = _hashAt[parentHeight];
        cursor.height = parentHeight;
        cursor.forkStart = fork;
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
