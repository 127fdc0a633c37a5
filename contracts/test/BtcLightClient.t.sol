// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {BtcLightClient} from "../src/BtcLightClient.sol";
import {BitcoinPow} from "../src/lib/BitcoinPow.sol";
import {BlockBuilder} from "./builders/BlockBuilder.sol";
import {GasMeter} from "./builders/GasMeter.sol";
import {MainnetHeaders} from "./data/MainnetHeaders.sol";

/// @dev Real mainnet headers: acceptance, the difficulty rule at real retargets, and every
/// way a header can be wrong.
contract BtcLightClientMainnetTest is Test {
    BtcLightClient internal client;
    bytes[12] internal early;

    /// @dev A `block.timestamp` after every header here (the future-time rule).
    uint256 internal constant NOW = 1_800_000_000;

    function setUp() public {
        vm.warp(NOW);
        early = MainnetHeaders.early();
        client = _mainnetClient(early[0], 0, 0);
    }

    function test_AcceptsMainnetHeadersFromGenesis() public {
        client.submitHeaders(0, _concat(1, 11));

        (uint256 height, bytes32 tipHash, uint256 chainWork) = client.tip();
        assertEq(height, 11);
        assertEq(tipHash, MainnetHeaders.HASH_11);
        // Each block at nBits 0x1d00ffff is worth 0x100010001 hashes.
        assertEq(chainWork, 11 * 0x100010001);
        assertEq(client.confirmations(MainnetHeaders.GENESIS_HASH, 0), 12);
        assertEq(client.confirmations(MainnetHeaders.HASH_11, 11), 1);
        assertTrue(client.isInBestChain(BlockBuilder.hashOf(early[5]), 5));
        assertEq(client.blockHashAt(5), BlockBuilder.hashOf(early[5]));
    }

    function test_AcceptsMainnetHeadersOneAtATime() public {
        for (uint256 i = 1; i <= 11; ++i) {
            client.submitHeaders(i - 1, early[i]);
        }
        (uint256 height, bytes32 tipHash,) = client.tip();
        assertEq(height, 11);
        assertEq(tipHash, MainnetHeaders.HASH_11);
    }

    function test_ConfirmationsOfUnknownBlockOrWrongHeightAreZero() public {
        client.submitHeaders(0, _concat(1, 3));
        bytes32 hash2 = BlockBuilder.hashOf(early[2]);
        assertEq(client.confirmations(hash2, 2), 2);
        assertEq(client.confirmations(hash2, 3), 0);
        assertEq(client.confirmations(hash2, 1000), 0);
        assertEq(client.confirmations(bytes32(0), 5), 0);
        assertEq(client.confirmations(keccak256("not a block"), 2), 0);
        assertFalse(client.isInBestChain(hash2, 1));
    }

    function test_AcceptsMainnetHeadersAboveTheMedianTimePast() public {
        bytes[21] memory dec = MainnetHeaders.dec2023();
        client = _mainnetClient(dec[0], 822770, MainnetHeaders.TIME_822528);
        // Blocks 822,771..822,790: the median rule applies from 822,781 on, and block 822,787
        // is 29 s older than its parent yet above the median of the 11 before it.
        client.submitHeaders(822770, _concatDec(dec, 1, 20));
        (uint256 height, bytes32 tipHash,) = client.tip();
        assertEq(height, 822790);
        assertEq(tipHash, BlockBuilder.hashOf(dec[20]));
        assertEq(client.blockHashAt(822787), MainnetHeaders.HASH_822787);
        assertLt(_time(dec[17]), _time(dec[16]), "822,787 is older than its parent");
    }

    function test_AcceptsMainnetHeadersWithTheMedianTimePastOneAtATime() public {
        bytes[21] memory dec = MainnetHeaders.dec2023();
        client = _mainnetClient(dec[0], 822770, MainnetHeaders.TIME_822528);
        for (uint256 i = 1; i <= 20; ++i) {
            client.submitHeaders(822769 + i, dec[i]);
        }
        (uint256 height,,) = client.tip();
        assertEq(height, 822790);
    }

    function test_AcceptsAMainnetHeaderExactlyTwoHoursAhead() public {
        vm.warp(_time(early[1]) - 2 hours);
        client.submitHeaders(0, early[1]);
        (uint256 height,,) = client.tip();
        assertEq(height, 1);
    }

    function test_RevertWhen_MainnetHeaderIsMoreThanTwoHoursAhead() public {
        uint256 time = _time(early[1]);
        vm.warp(time - 2 hours - 1);
        vm.expectRevert(
            abi.encodeWithSelector(BtcLightClient.LightClientTimeTooNew.selector, 1, time, time - 2 hours - 1)
        );
        client.submitHeaders(0, early[1]);
    }

    function test_RevertWhen_ALaterMainnetHeaderInABatchIsTooFarAhead() public {
        bytes[21] memory dec = MainnetHeaders.dec2023();
        client = _mainnetClient(dec[0], 822770, MainnetHeaders.TIME_822528);
        // The clock stands 2 hours before block 822,790: every header up to 822,789 is fine.
        uint256 time = _time(dec[20]);
        vm.warp(time - 2 hours - 1);
        vm.expectRevert(
            abi.encodeWithSelector(BtcLightClient.LightClientTimeTooNew.selector, 822790, time, time - 2 hours - 1)
        );
        client.submitHeaders(822770, _concatDec(dec, 1, 20));
    }

    function test_RetargetAt32256MatchesTheNetwork() public {
        client = _mainnetClient(MainnetHeaders.H32255, 32255, MainnetHeaders.TIME_30240);
        client.submitHeaders(32255, MainnetHeaders.H32256);
        (uint256 height, bytes32 tipHash,) = client.tip();
        assertEq(height, 32256);
        // Display 000000004f2886a170adb7204cb0c7a824217dd24d11a74423d564c4e0904967.
        assertEq(tipHash, 0x674990e0c464d52344a7114dd27d2124a8c7b04c20b7ad70a186284f00000000);
        (, uint32 bits,) = client.tipState();
        assertEq(bits, 0x1d00d86a);
    }

    function test_RetargetAt866880MatchesTheNetwork() public {
        client = _mainnetClient(MainnetHeaders.H866879, 866879, MainnetHeaders.TIME_864864);
        client.submitHeaders(866879, MainnetHeaders.H866880);
        (uint256 height,,) = client.tip();
        assertEq(height, 866880);
        (, uint32 bits,) = client.tipState();
        assertEq(bits, 0x1702f128);
    }

    function test_RevertWhen_RetargetPeriodStartIsWrong() public {
        // One day later: a shorter period, a harder target than the network computed.
        uint256 start = MainnetHeaders.TIME_30240 + 1 days;
        client = _mainnetClient(MainnetHeaders.H32255, 32255, start);
        uint256 expected = BitcoinPow.targetToBits(
            BitcoinPow.retarget(
                0xffff << 208, start, 1262152739, MainnetHeaders.TARGET_TIMESPAN, MainnetHeaders.POW_LIMIT
            )
        );
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientUnexpectedBits.selector, 32256, uint32(0x1d00d86a), uint32(expected)
            )
        );
        client.submitHeaders(32255, MainnetHeaders.H32256);
    }

    function test_RevertWhen_BitsDifferFromParentInsideAPeriod() public {
        bytes memory header = early[1];
        // nBits 0x1d00ffff -> 0x1d00fffe (little-endian bytes 72..75).
        header[72] = 0xfe;
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientUnexpectedBits.selector, 1, uint32(0x1d00fffe), uint32(0x1d00ffff)
            )
        );
        client.submitHeaders(0, header);
    }

    function test_RevertWhen_ProofOfWorkIsInsufficient() public {
        bytes memory header = early[1];
        header[79] = bytes1(uint8(header[79]) ^ 0x01); // another nonce
        bytes32 blockHash = BlockBuilder.hashOf(header);
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientInsufficientProofOfWork.selector, 1, blockHash, uint256(0xffff) << 208
            )
        );
        client.submitHeaders(0, header);
    }

    function test_RevertWhen_LinkIsBroken() public {
        // Block 2 straight after genesis.
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientBrokenLink.selector,
                1,
                BlockBuilder.hashOf(early[1]),
                MainnetHeaders.GENESIS_HASH
            )
        );
        client.submitHeaders(0, early[2]);
    }

    function test_RevertWhen_LinkIsBrokenInsideABatch() public {
        bytes memory batch = abi.encodePacked(early[1], early[2], early[4]);
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientBrokenLink.selector,
                3,
                BlockBuilder.hashOf(early[3]),
                BlockBuilder.hashOf(early[2])
            )
        );
        client.submitHeaders(0, batch);
    }

    function test_RevertWhen_HeadersAreNotMultiplesOf80Bytes() public {
        vm.expectRevert(abi.encodeWithSelector(BtcLightClient.LightClientBadHeadersLength.selector, 0));
        client.submitHeaders(0, "");
        bytes memory truncated = abi.encodePacked(early[1], bytes1(0));
        vm.expectRevert(abi.encodeWithSelector(BtcLightClient.LightClientBadHeadersLength.selector, 81));
        client.submitHeaders(0, truncated);
    }

    function test_RevertWhen_ParentIsAboveTheTip() public {
        vm.expectRevert(abi.encodeWithSelector(BtcLightClient.LightClientUnknownParent.selector, 1, 0, 0));
        client.submitHeaders(1, early[2]);
    }

    function test_RevertWhen_ParentIsBelowTheCheckpoint() public {
        client = _mainnetClient(early[5], 5, 1231006505); // period start: the genesis time
        vm.expectRevert(abi.encodeWithSelector(BtcLightClient.LightClientUnknownParent.selector, 4, 5, 5));
        client.submitHeaders(4, early[5]);
    }

    function test_RevertWhen_RealHeadersReplayAtTheTip() public {
        client.submitHeaders(0, _concat(1, 2));
        // The same block 2 again, at height 3: its parent is block 1, not block 2.
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientBrokenLink.selector,
                3,
                BlockBuilder.hashOf(early[1]),
                BlockBuilder.hashOf(early[2])
            )
        );
        client.submitHeaders(2, early[2]);
    }

    function test_RevertWhen_SameHeadersResubmittedAsFork() public {
        client.submitHeaders(0, _concat(1, 3));
        // Blocks 2..3 again after block 1: equal work, not heavier.
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientForkNotHeavier.selector, 1, 2 * 0x100010001, 2 * 0x100010001
            )
        );
        client.submitHeaders(1, _concat(2, 3));
    }

    function test_ResubmittedBranchWithMoreHeadersIsAccepted() public {
        client.submitHeaders(0, _concat(1, 3));
        client.submitHeaders(1, _concat(2, 5));
        (uint256 height,,) = client.tip();
        assertEq(height, 5);
        assertEq(client.confirmations(BlockBuilder.hashOf(early[3]), 3), 3);
    }

    function test_RevertWhen_CheckpointIsNot80Bytes() public {
        vm.expectRevert(abi.encodeWithSelector(BtcLightClient.LightClientInvalidCheckpoint.selector, 0));
        new BtcLightClient(
            BtcLightClient.Checkpoint({header: hex"00", height: 0, chainWork: 0, periodStartTime: 0}), _mainnetRules()
        );
    }

    function test_RevertWhen_CheckpointBitsAboveThePowLimit() public {
        // Mainnet genesis under a much harder PoW limit.
        BtcLightClient.NetworkRules memory rules = _mainnetRules();
        rules.powLimit = uint256(0xffff) << 200;
        vm.expectRevert(abi.encodeWithSelector(BtcLightClient.LightClientInvalidCheckpoint.selector, 0));
        new BtcLightClient(
            BtcLightClient.Checkpoint({header: early[0], height: 0, chainWork: 0, periodStartTime: 0}), rules
        );
    }

    function test_RevertWhen_CheckpointInsideAPeriodHasNoPeriodStart() public {
        vm.expectRevert(abi.encodeWithSelector(BtcLightClient.LightClientInvalidCheckpoint.selector, 32255));
        _mainnetClient(MainnetHeaders.H32255, 32255, 0);
    }

    function test_RevertWhen_RulesRetargetWithoutTimespan() public {
        BtcLightClient.NetworkRules memory rules = _mainnetRules();
        rules.targetTimespan = 0;
        vm.expectRevert(
            abi.encodeWithSelector(BtcLightClient.LightClientInvalidRules.selector, rules.powLimit, 2016, 0)
        );
        new BtcLightClient(
            BtcLightClient.Checkpoint({header: early[0], height: 0, chainWork: 0, periodStartTime: 0}), rules
        );
    }

    /// @dev Figures in snapshots/BtcLightClient.json: "tx" includes the intrinsic 21,000 and
    /// the calldata; "execution" is what the contract's code spends.
    function test_Gas_SubmitTenMainnetHeaders() public {
        client.submitHeaders(0, early[1]);
        bytes memory batch = _concat(2, 11);
        client.submitHeaders(1, batch);
        uint256 txGas = vm.snapshotGasLastCall("BtcLightClient", "submitHeaders_10_headers_tx");
        uint256 execution = GasMeter.executionGas(txGas, abi.encodeCall(BtcLightClient.submitHeaders, (1, batch)));
        vm.snapshotValue("BtcLightClient", "submitHeaders_10_headers_execution", execution);
        vm.snapshotValue("BtcLightClient", "submitHeaders_per_header_in_batch_of_10_execution", execution / 10);
        vm.snapshotValue("BtcLightClient", "submitHeaders_per_header_in_batch_of_10_tx", txGas / 10);
    }

    /// @dev A batch in which every header is checked against the median time past (the first
    /// 11 headers above a checkpoint are not: their predecessors' times are unknown).
    function test_Gas_SubmitTenMainnetHeadersWithTheMedianTimePast() public {
        bytes[21] memory dec = MainnetHeaders.dec2023();
        client = _mainnetClient(dec[0], 822770, MainnetHeaders.TIME_822528);
        client.submitHeaders(822770, _concatDec(dec, 1, 10));
        bytes memory batch = _concatDec(dec, 11, 20);
        client.submitHeaders(822780, batch);
        uint256 txGas = vm.snapshotGasLastCall("BtcLightClient", "submitHeaders_10_headers_median_checked_tx");
        uint256 execution = GasMeter.executionGas(txGas, abi.encodeCall(BtcLightClient.submitHeaders, (822780, batch)));
        vm.snapshotValue(
            "BtcLightClient", "submitHeaders_per_header_in_batch_of_10_median_checked_execution", execution / 10
        );
    }

    function test_Gas_SubmitOneMainnetHeader() public {
        client.submitHeaders(0, early[1]);
        uint256 txGas = vm.snapshotGasLastCall("BtcLightClient", "submitHeaders_1_header_tx");
        vm.snapshotValue(
            "BtcLightClient",
            "submitHeaders_1_header_execution",
            GasMeter.executionGas(txGas, abi.encodeCall(BtcLightClient.submitHeaders, (0, early[1])))
        );
    }

    function test_Gas_Confirmations() public {
        client.submitHeaders(0, _concat(1, 11));
        client.confirmations(BlockBuilder.hashOf(early[5]), 5);
        vm.snapshotGasLastCall("BtcLightClient", "confirmations");
    }

    function _concat(uint256 from, uint256 to) internal view returns (bytes memory out) {
        for (uint256 i = from; i <= to; ++i) {
            out = abi.encodePacked(out, early[i]);
        }
    }

    function _concatDec(bytes[21] memory dec, uint256 from, uint256 to) internal pure returns (bytes memory out) {
        for (uint256 i = from; i <= to; ++i) {
            out = abi.encodePacked(out, dec[i]);
        }
    }

    /// @dev A header's time (little-endian at bytes 68..71).
    function _time(bytes memory header) internal pure returns (uint256) {
        return uint256(uint8(header[68])) | (uint256(uint8(header[69])) << 8) | (uint256(uint8(header[70])) << 16)
            | (uint256(uint8(header[71])) << 24);
    }

    function _mainnetRules() internal pure returns (BtcLightClient.NetworkRules memory) {
        return BtcLightClient.NetworkRules({
            powLimit: MainnetHeaders.POW_LIMIT,
            retargetInterval: MainnetHeaders.RETARGET_INTERVAL,
            targetTimespan: MainnetHeaders.TARGET_TIMESPAN
        });
    }

    function _mainnetClient(bytes memory header, uint256 height, uint256 periodStart)
        internal
        returns (BtcLightClient)
    {
        return new BtcLightClient(
            BtcLightClient.Checkpoint({header: header, height: height, chainWork: 0, periodStartTime: periodStart}),
            _mainnetRules()
        );
    }
}

/// @dev Mined regtest-difficulty chains: forks, reorganisations and the retarget rule on a
/// devnet with a short period.
contract BtcLightClientForkTest is Test {
    uint32 internal constant GENESIS_TIME = 1_700_000_000;
    uint256 internal constant REGTEST_WORK = 2; // 2^256 / (0x7fffff << 232 + 1), rounded down

    BtcLightClient internal client;
    bytes32 internal genesisHash;

    function setUp() public {
        vm.warp(GENESIS_TIME + 30 days);
        bytes memory genesis =
            BlockBuilder.mine(bytes32(0), keccak256("genesis"), GENESIS_TIME, BlockBuilder.REGTEST_BITS, 0);
        genesisHash = BlockBuilder.hashOf(genesis);
        client = new BtcLightClient(
            BtcLightClient.Checkpoint({header: genesis, height: 0, chainWork: REGTEST_WORK, periodStartTime: 0}),
            BtcLightClient.NetworkRules({
                powLimit: BlockBuilder.REGTEST_POW_LIMIT, retargetInterval: 0, targetTimespan: 0
            })
        );
    }

    function test_HeavierForkReorganises() public {
        (bytes memory mainChain, bytes32[] memory a) = _chain(genesisHash, 1, 5, 1, 600);
        client.submitHeaders(0, mainChain);
        // Fork after block 2: five blocks against three.
        (bytes memory forkChain, bytes32[] memory b) = _chain(a[1], 3, 5, 2, 600);

        vm.expectEmit(address(client));
        emit BtcLightClient.ChainReorganized(2, a[4], 5, b[4], 7);
        client.submitHeaders(2, forkChain);

        (uint256 height, bytes32 tipHash, uint256 chainWork) = client.tip();
        assertEq(height, 7);
        assertEq(tipHash, b[4]);
        assertEq(chainWork, 8 * REGTEST_WORK);
        for (uint256 i = 2; i < 5; ++i) {
            assertEq(client.confirmations(a[i], i + 1), 0, "old branch left the best chain");
        }
        assertEq(client.confirmations(b[0], 3), 5);
        assertEq(client.confirmations(a[1], 2), 6, "common ancestor stays");
    }

    function test_RevertWhen_ForkIsLighter() public {
        (bytes memory mainChain, bytes32[] memory a) = _chain(genesisHash, 1, 5, 1, 600);
        client.submitHeaders(0, mainChain);
        (bytes memory forkChain,) = _chain(a[1], 3, 2, 2, 600);
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientForkNotHeavier.selector, 2, 2 * REGTEST_WORK, 3 * REGTEST_WORK
            )
        );
        client.submitHeaders(2, forkChain);
    }

    function test_RevertWhen_ForkHasEqualWork() public {
        (bytes memory mainChain, bytes32[] memory a) = _chain(genesisHash, 1, 5, 1, 600);
        client.submitHeaders(0, mainChain);
        (bytes memory forkChain,) = _chain(a[1], 3, 3, 2, 600);
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientForkNotHeavier.selector, 2, 3 * REGTEST_WORK, 3 * REGTEST_WORK
            )
        );
        client.submitHeaders(2, forkChain);
        (, bytes32 tipHash,) = client.tip();
        assertEq(tipHash, a[4], "first seen wins a tie");
    }

    function test_ReorganisesBackToTheFirstBranch() public {
        (bytes memory mainChain, bytes32[] memory a) = _chain(genesisHash, 1, 3, 1, 600);
        client.submitHeaders(0, mainChain);
        (bytes memory forkChain, bytes32[] memory b) = _chain(a[0], 2, 3, 2, 600);
        client.submitHeaders(1, forkChain);
        assertEq(client.confirmations(a[2], 3), 0);

        // The first branch grows to five blocks after block 1 and takes over again.
        (bytes memory extension, bytes32[] memory c) = _chain(a[2], 4, 3, 1, 600);
        client.submitHeaders(1, abi.encodePacked(_slice(mainChain, 1, 2), extension));
        (uint256 height, bytes32 tipHash,) = client.tip();
        assertEq(height, 6);
        assertEq(tipHash, c[2]);
        assertEq(client.confirmations(a[2], 3), 4);
        assertEq(client.confirmations(b[0], 2), 0);
    }

    function test_RevertWhen_HeaderBitsChangeWithoutRetargeting() public {
        bytes memory header = BlockBuilder.mine(genesisHash, keccak256("x"), GENESIS_TIME + 600, 0x207ffffe, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientUnexpectedBits.selector, 1, uint32(0x207ffffe), BlockBuilder.REGTEST_BITS
            )
        );
        client.submitHeaders(0, header);
    }

    function test_RevertWhen_RegtestHeaderMissesTarget() public {
        bytes memory header =
            BlockBuilder.mineFailing(genesisHash, keccak256("x"), GENESIS_TIME + 600, BlockBuilder.REGTEST_BITS);
        vm.expectRevert();
        client.submitHeaders(0, header);
    }

    function test_RevertWhen_TimeIsNotAboveTheMedianTimePast() public {
        // Blocks 1..11 at GENESIS_TIME + 600 * height: the median of 1..11 is block 6's time.
        (bytes memory chain, bytes32[] memory a) = _chain(genesisHash, 1, 11, 1, 600);
        client.submitHeaders(0, chain);
        uint32 median = GENESIS_TIME + 6 * 600;
        bytes memory atMedian = BlockBuilder.mine(a[10], keccak256("at median"), median, BlockBuilder.REGTEST_BITS, 0);
        vm.expectRevert(abi.encodeWithSelector(BtcLightClient.LightClientTimeTooOld.selector, 12, median, median));
        client.submitHeaders(11, atMedian);

        // One second later passes, although it is older than its parent (block 11).
        bytes memory above =
            BlockBuilder.mine(a[10], keccak256("above median"), median + 1, BlockBuilder.REGTEST_BITS, 0);
        client.submitHeaders(11, above);
        (uint256 height, bytes32 tipHash,) = client.tip();
        assertEq(height, 12);
        assertEq(tipHash, BlockBuilder.hashOf(above));
    }

    function test_RevertWhen_TimeIsNotAboveTheMedianTimePastInsideABatch() public {
        (bytes memory chain, bytes32[] memory a) = _chain(genesisHash, 1, 13, 1, 600);
        // Block 14 at block 3's time: the median of blocks 3..13 is block 8's time.
        bytes memory old =
            BlockBuilder.mine(a[12], keccak256("old"), GENESIS_TIME + 3 * 600, BlockBuilder.REGTEST_BITS, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientTimeTooOld.selector, 14, GENESIS_TIME + 3 * 600, GENESIS_TIME + 8 * 600
            )
        );
        client.submitHeaders(0, abi.encodePacked(chain, old));
    }

    function test_MedianTimePastStartsElevenHeadersAboveTheCheckpoint() public {
        // The checkpoint's predecessors are unknown: blocks 1..11 are only checked against the
        // clock, so block 1 may be older than the checkpoint (as Bitcoin allows when the
        // checkpoint's own median is older still).
        bytes memory first =
            BlockBuilder.mine(genesisHash, keccak256("older"), GENESIS_TIME - 600, BlockBuilder.REGTEST_BITS, 0);
        client.submitHeaders(0, first);
        (uint256 height,,) = client.tip();
        assertEq(height, 1);
    }

    function test_RevertWhen_ForkTimeIsNotAboveTheMedianOfItsBestChainAncestors() public {
        (bytes memory mainChain, bytes32[] memory a) = _chain(genesisHash, 1, 14, 1, 600);
        client.submitHeaders(0, mainChain);
        // A fork after block 12, three blocks deep; its first header at block 7's time, the
        // median of blocks 2..12.
        uint32 median = GENESIS_TIME + 7 * 600;
        bytes memory forkStart = BlockBuilder.mine(a[11], keccak256("fork"), median, BlockBuilder.REGTEST_BITS, 0);
        (bytes memory rest,) = _chain(BlockBuilder.hashOf(forkStart), 14, 2, 2, 600);
        vm.expectRevert(abi.encodeWithSelector(BtcLightClient.LightClientTimeTooOld.selector, 13, median, median));
        client.submitHeaders(12, abi.encodePacked(forkStart, rest));
    }

    function test_RevertWhen_TimeIsNotAboveTheMedianOfTheBranchReorganisedTo() public {
        (bytes memory mainChain, bytes32[] memory a) = _chain(genesisHash, 1, 14, 1, 600);
        client.submitHeaders(0, mainChain);
        // A heavier fork after block 8, six blocks deep, whose blocks 9..15 are much later.
        (bytes memory fork, bytes32[] memory b) = _chain(a[7], 9, 7, 2, 12_000);
        client.submitHeaders(8, fork);
        // Block 16 at GENESIS_TIME + 9,000 is above the old branch's median, not above the new
        // one's: blocks 5..15 have block 10's time (GENESIS_TIME + 120,000) in the middle.
        bytes memory next =
            BlockBuilder.mine(b[6], keccak256("next"), GENESIS_TIME + 9000, BlockBuilder.REGTEST_BITS, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientTimeTooOld.selector, 16, GENESIS_TIME + 9000, GENESIS_TIME + 120_000
            )
        );
        client.submitHeaders(15, next);
    }

    function testFuzz_ExtendingChainsOfAnyLength(uint256 count, uint32 salt) public {
        count = bound(count, 1, 24);
        (bytes memory headers, bytes32[] memory hashes) = _chain(genesisHash, 1, count, salt, 1);
        client.submitHeaders(0, headers);
        (uint256 height, bytes32 tipHash, uint256 chainWork) = client.tip();
        assertEq(height, count);
        assertEq(tipHash, hashes[count - 1]);
        assertEq(chainWork, (count + 1) * REGTEST_WORK);
        assertEq(client.confirmations(hashes[0], 1), count);
    }

    /// @dev `count` headers mined after `parent`, starting at `height`; distinct per `salt`.
    function _chain(bytes32 parent, uint256 height, uint256 count, uint32 salt, uint32 spacing)
        internal
        pure
        returns (bytes memory headers, bytes32[] memory hashes)
    {
        hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            bytes memory header = BlockBuilder.mine(
                parent,
                keccak256(abi.encode(salt, height + i)),
                uint32(GENESIS_TIME + (height + i) * spacing),
                BlockBuilder.REGTEST_BITS,
                0
            );
            parent = BlockBuilder.hashOf(header);
            hashes[i] = parent;
            headers = abi.encodePacked(headers, header);
        }
    }

    function _slice(bytes memory headers, uint256 from, uint256 count) internal pure returns (bytes memory out) {
        out = new bytes(count * 80);
        for (uint256 i; i < count * 80; ++i) {
            out[i] = headers[from * 80 + i];
        }
    }
}

/// @dev A devnet that retargets every 4 blocks with a 40-second timespan: the 4x clamps, the
/// PoW-limit cap, and a shorter but heavier fork.
contract BtcLightClientRetargetTest is Test {
    uint32 internal constant GENESIS_TIME = 1_700_000_000;
    uint256 internal constant INTERVAL = 4;
    uint256 internal constant TIMESPAN = 40;
    // Target 0x07ffff << 232, about 2^251: a sixteenth of the PoW limit, so that easing 4x is
    // not capped, and easy enough to mine in a test even 4x harder.
    uint32 internal constant START_BITS = 0x2007ffff;

    BtcLightClient internal client;
    bytes32 internal genesisHash;

    function setUp() public {
        vm.warp(GENESIS_TIME + 30 days);
        bytes memory genesis = BlockBuilder.mine(bytes32(0), keccak256("genesis"), GENESIS_TIME, START_BITS, 0);
        genesisHash = BlockBuilder.hashOf(genesis);
        client = new BtcLightClient(
            BtcLightClient.Checkpoint({header: genesis, height: 0, chainWork: 0, periodStartTime: 0}),
            BtcLightClient.NetworkRules({
                powLimit: BlockBuilder.REGTEST_POW_LIMIT, retargetInterval: INTERVAL, targetTimespan: TIMESPAN
            })
        );
    }

    function test_FastPeriodTightensAtMostFourTimes() public {
        // Blocks 1..3 one second apart: actual 3 s, clamped to 10 s -> target / 4.
        (bytes memory period, bytes32 last) = _mine(genesisHash, 1, 3, START_BITS, 1);
        uint32 next = _expectedBits(START_BITS, 10);
        (bytes memory boundary,) = _mine(last, 4, 1, next, 1);
        client.submitHeaders(0, abi.encodePacked(period, boundary));
        (, uint32 bits,) = client.tipState();
        assertEq(bits, next);
        (uint256 startTarget,) = BitcoinPow.bitsToTarget(START_BITS);
        // Clamped: a quarter of the target (in compact precision), not 3/40 of it.
        assertEq(bits, BitcoinPow.targetToBits(startTarget / 4));
    }

    function test_SlowPeriodEasesAtMostFourTimes() public {
        // A day between blocks: clamped to 160 s -> target * 4.
        (bytes memory period, bytes32 last) = _mine(genesisHash, 1, 3, START_BITS, 1 days);
        uint32 next = _expectedBits(START_BITS, 160);
        (bytes memory boundary,) = _mine(last, 4, 1, next, 1 days);
        client.submitHeaders(0, abi.encodePacked(period, boundary));
        (uint256 startTarget,) = BitcoinPow.bitsToTarget(START_BITS);
        (, uint32 bits,) = client.tipState();
        (uint256 newTarget,) = BitcoinPow.bitsToTarget(bits);
        assertEq(newTarget, startTarget * 4);
    }

    function test_RevertWhen_BoundaryKeepsTheOldBits() public {
        (bytes memory period, bytes32 last) = _mine(genesisHash, 1, 3, START_BITS, 1);
        (bytes memory boundary,) = _mine(last, 4, 1, START_BITS, 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                BtcLightClient.LightClientUnexpectedBits.selector, 4, START_BITS, _expectedBits(START_BITS, 10)
            )
        );
        client.submitHeaders(0, abi.encodePacked(period, boundary));
    }

    function test_ShorterHeavierForkReorganisesAndClearsOldHeights() public {
        // Main chain: 3 slow blocks, then 4 at four times the target (a quarter of the work
        // each): 3 + 4/4 = 4 units of work.
        (bytes memory slow, bytes32 slowLast) = _mine(genesisHash, 1, 3, START_BITS, 1 days);
        (bytes memory eased,) = _mine(slowLast, 4, 4, _expectedBits(START_BITS, 160), 1 days);
        client.submitHeaders(0, abi.encodePacked(slow, eased));
        (uint256 tipHeight,,) = client.tip();
        assertEq(tipHeight, 7);

        // Fork: 3 fast blocks, then 2 at a quarter of the target (4x the work each):
        // 3 + 8 = 11 units of work against 4, in 5 blocks against 7.
        (bytes memory fast, bytes32 last) = _mine(genesisHash, 1, 3, START_BITS, 1);
        uint32 hard = _expectedBits(START_BITS, 10);
        (bytes memory hardBlocks, bytes32 forkTip) = _mine(last, 4, 2, hard, 1);
        client.submitHeaders(0, abi.encodePacked(fast, hardBlocks));

        (uint256 height, bytes32 tipHash,) = client.tip();
        assertEq(height, 5);
        assertEq(tipHash, forkTip);
        assertEq(client.blockHashAt(6), bytes32(0));
        assertEq(client.blockHashAt(7), bytes32(0));
    }

    function _expectedBits(uint32 bits, uint256 actualTimespan) internal pure returns (uint32) {
        (uint256 target,) = BitcoinPow.bitsToTarget(bits);
        return BitcoinPow.targetToBits(
            BitcoinPow.retarget(target, 0, actualTimespan, TIMESPAN, BlockBuilder.REGTEST_POW_LIMIT)
        );
    }

    function _mine(bytes32 parent, uint256 height, uint256 count, uint32 bits, uint256 spacing)
        internal
        pure
        returns (bytes memory headers, bytes32 last)
    {
        for (uint256 i; i < count; ++i) {
            bytes memory header = BlockBuilder.mine(
                parent,
                keccak256(abi.encode(spacing, height + i)),
                uint32(GENESIS_TIME + (height + i) * spacing),
                bits,
                0
            );
            parent = BlockBuilder.hashOf(header);
            headers = abi.encodePacked(headers, header);
        }
        last = parent;
    }
}
