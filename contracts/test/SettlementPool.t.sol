// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";

import {BtcLightClient} from "../src/BtcLightClient.sol";
import {SettlementPool} from "../src/SettlementPool.sol";
import {WrappedBtc} from "../src/WrappedBtc.sol";
import {IBtcLightClient} from "../src/interfaces/IBtcLightClient.sol";
import {IGroth16Verifier} from "../src/interfaces/IGroth16Verifier.sol";
import {IPegIn} from "../src/interfaces/IPegIn.sol";
import {BitcoinSpv} from "../src/lib/BitcoinSpv.sol";
import {Payout, PayoutBinding} from "../src/lib/PayoutBinding.sol";
import {BlockBuilder} from "./builders/BlockBuilder.sol";
import {CoinbaseBuilder} from "./builders/CoinbaseBuilder.sol";
import {GasMeter} from "./builders/GasMeter.sol";
import {PoolScenario} from "./builders/PoolScenario.sol";
import {SettlementPoolHarness} from "./harnesses/SettlementPoolHarness.sol";
import {PinnedVerifier} from "./mocks/PinnedVerifier.sol";
import {RejectingVerifier} from "./mocks/RejectingVerifier.sol";

/// @dev Settlement's checks, crediting, claims and fee rule. The verifier here is
/// `PinnedVerifier` (accepts exactly the statement the test pins) or `RejectingVerifier`;
/// SettlementProof.t.sol repeats the success and proof tests with the circuits' real verifier.
contract SettlementPoolTest is PoolScenario {
    uint256 internal constant FEE_BPS = 100;
    uint256 internal constant CONFIRMATIONS = 3;
    uint256 internal constant MAX_PAYOUTS = 8;
    uint64 internal constant REWARD = 50_0000_0000;

    PinnedVerifier internal verifier;
    bytes32 internal windowRoot;
    Payout[] internal payouts;
    uint256[8] internal proof;

    function setUp() public {
        verifier = new PinnedVerifier();
        _deploy(verifier, FEE_BPS, CONFIRMATIONS, MAX_PAYOUTS);
        windowRoot = keccak256("window root") >> 8; // a field element
        Payout[] memory list = _payouts(7, REWARD - _fee(REWARD), 0);
        for (uint256 i; i < list.length; ++i) {
            payouts.push(list[i]);
        }
        proof = _proof(1);
        _pin(REWARD, payouts);
    }

    // ----- success ----------------------------------------------------------------------------

    function test_SettleCreditsEachPayeeAndTheFeeRecipient() public {
        MinedBlock memory b = _readyBlock();
        uint256 fee = _fee(REWARD);
        uint256 paid;
        for (uint256 i; i < payouts.length; ++i) {
            paid += payouts[i].amount;
        }
        uint256 dust = REWARD - fee - paid;
        assertGt(dust, 0, "the split leaves rounding dust");

        vm.expectEmit(address(pool));
        emit SettlementPool.BlockSettled(b.blockHash, windowRoot, REWARD, fee, dust, keccak256(abi.encode(payouts)));
        _settle(b, payouts, proof);

        for (uint256 i; i < payouts.length; ++i) {
            assertEq(pool.balanceOf(payouts[i].account), payouts[i].amount);
        }
        assertEq(pool.balanceOf(feeRecipient), fee + dust);
        assertEq(pool.totalCredited(), REWARD);
        assertEq(pool.settledBlockOf(b.txid), b.blockHash);
        assertEq(token.balanceOf(address(pool)), REWARD);
    }

    function test_SettlesAnEmptyWindowToTheFeeRecipient() public {
        Payout[] memory none = new Payout[](0);
        _pin(REWARD, none);
        MinedBlock memory b = _readyBlock();
        _settle(b, none, proof);
        assertEq(pool.balanceOf(feeRecipient), REWARD);
    }

    function test_ZeroAmountPayeesAreAcceptedAndCreditNothing() public {
        Payout[] memory list = _payouts(3, REWARD - _fee(REWARD), 0);
        list[0].amount = 0;
        _pin(REWARD, list);
        MinedBlock memory b = _readyBlock();
        _settle(b, list, proof);
        assertEq(pool.balanceOf(list[0].account), 0);
        assertEq(pool.totalCredited(), REWARD);
    }

    function test_ClaimPaysTheCallerItsBalance() public {
        _settle(_readyBlock(), payouts, proof);
        address miner = payouts[2].account;
        uint256 amount = payouts[2].amount;

        vm.expectEmit(address(pool));
        emit SettlementPool.Claimed(miner, amount);
        vm.prank(miner);
        assertEq(pool.claim(), amount);

        assertEq(token.balanceOf(miner), amount);
        assertEq(pool.balanceOf(miner), 0);
        assertEq(pool.totalClaimed(), amount);
    }

    function test_ClaimForPaysTheAccountItself() public {
        _settle(_readyBlock(), payouts, proof);
        address miner = payouts[1].account;
        address stranger = makeAddr("stranger");
        vm.prank(stranger);
        pool.claimFor(miner);
        assertEq(token.balanceOf(miner), payouts[1].amount);
        assertEq(token.balanceOf(stranger), 0);
    }

    function test_FeeRecipientClaimsFeeAndDust() public {
        _settle(_readyBlock(), payouts, proof);
        uint256 owed = pool.balanceOf(feeRecipient);
        vm.prank(feeRecipient);
        pool.claim();
        assertEq(token.balanceOf(feeRecipient), owed);
    }

    function test_RevertWhen_NothingToClaim() public {
        address nobody = makeAddr("nobody");
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementNothingToClaim.selector, nobody));
        vm.prank(nobody);
        pool.claim();
    }

    function test_RevertWhen_ClaimingTwice() public {
        _settle(_readyBlock(), payouts, proof);
        address miner = payouts[0].account;
        vm.prank(miner);
        pool.claim();
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementNothingToClaim.selector, miner));
        pool.claimFor(miner);
    }

    function test_BalancesAccumulateOverBlocks() public {
        _settle(_readyBlock(), payouts, proof);
        _settle(_readyBlock(), payouts, proof);
        assertEq(pool.balanceOf(payouts[3].account), 2 * uint256(payouts[3].amount));
        assertEq(pool.totalCredited(), 2 * uint256(REWARD));
    }

    // ----- step 0: input shapes ---------------------------------------------------------------

    function test_RevertWhen_HeaderIsNot80Bytes() public {
        MinedBlock memory b = _readyBlock();
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementBadHeaderLength.selector, 81));
        pool.settle(abi.encodePacked(b.header, hex"00"), b.coinbase, b.branch, payouts, proof);
    }

    // ----- step 1: confirmed in the best chain ------------------------------------------------

    function test_RevertWhen_BlockIsNotInTheBestChain() public {
        MinedBlock memory b = _readyBlock();
        // The same transactions under another header (another nonce) that was never submitted.
        bytes memory other = b.header;
        other[79] = bytes1(uint8(other[79]) ^ 0xff);
        bytes32 otherHash = BlockBuilder.hashOf(other);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementBlockNotInBestChain.selector, otherHash, b.height)
        );
        pool.settle(other, b.coinbase, b.branch, payouts, proof);
    }

    function test_RevertWhen_BlockHasTooFewConfirmations() public {
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                SettlementPool.SettlementNotConfirmed.selector, b.blockHash, CONFIRMATIONS - 1, CONFIRMATIONS
            )
        );
        _settle(b, payouts, proof);
    }

    function test_RevertWhen_BlockWasReorganisedOut() public {
        MinedBlock memory b = _readyBlock();
        // A heavier fork from the block's parent: CONFIRMATIONS + 1 blocks against CONFIRMATIONS.
        bytes memory fork;
        bytes32 parent = lightClient.blockHashAt(b.height - 1);
        for (uint256 i; i <= CONFIRMATIONS; ++i) {
            bytes memory header = BlockBuilder.mine(
                parent, keccak256(abi.encode("fork", i)), uint32(GENESIS_TIME + (b.height + i) * 600 + 1), 0x207fffff, 0
            );
            parent = BlockBuilder.hashOf(header);
            fork = abi.encodePacked(fork, header);
        }
        lightClient.submitHeaders(b.height - 1, fork);

        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementBlockNotInBestChain.selector, b.blockHash, b.height)
        );
        _settle(b, payouts, proof);
    }

    function test_RevertWhen_CoinbaseClaimsAnotherHeight() public {
        // A coinbase whose BIP 34 height is not its block's: the lookup misses, never passes.
        MinedBlock memory b =
            _mine(CoinbaseBuilder.poolCoinbase(tipHeight + 5, windowRoot, REWARD, SETTLEMENT_SCRIPT), 0);
        _confirm(CONFIRMATIONS + 10);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementBlockNotInBestChain.selector, b.blockHash, b.height + 4)
        );
        _settle(b, payouts, proof);
    }

    // ----- step 2: the coinbase is in the block -----------------------------------------------

    function test_RevertWhen_MerkleBranchIsWrong() public {
        MinedBlock memory b = _readyBlock();
        b.branch[1] = keccak256("not a sibling");
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementCoinbaseNotInBlock.selector, b.blockHash, b.txid)
        );
        _settle(b, payouts, proof);
    }

    function test_RevertWhen_CoinbaseIsNotAtIndexZero() public {
        // The block's real coinbase pays someone else; a coinbase-shaped transaction at index 1
        // commits to a window and pays the settlement script.
        bytes memory realCoinbase = CoinbaseBuilder.coinbase(tipHeight + 1, hex"aabb", _outputs(REWARD, hex"51"));
        bytes memory impostor = CoinbaseBuilder.poolCoinbase(tipHeight + 1, windowRoot, REWARD, SETTLEMENT_SCRIPT);
        bytes32[] memory txids = new bytes32[](2);
        txids[0] = BitcoinSpv.hash256Memory(realCoinbase);
        txids[1] = BitcoinSpv.hash256Memory(impostor);
        (bytes memory header, bytes32 blockHash) = _mineTxids(txids);
        _confirm(CONFIRMATIONS);

        // Its true branch (sibling on the left) cannot be expressed: index 0 hashes it on the right.
        bytes32[] memory branch = new bytes32[](1);
        branch[0] = txids[0];
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementCoinbaseNotInBlock.selector, blockHash, txids[1])
        );
        pool.settle(header, impostor, branch, payouts, proof);
    }

    function test_RevertWhen_SixtyFourByteInnerNodePosesAsTheCoinbase() public {
        bytes memory coinbase = CoinbaseBuilder.poolCoinbase(tipHeight + 1, windowRoot, REWARD, SETTLEMENT_SCRIPT);
        bytes32[] memory txids = new bytes32[](2);
        txids[0] = BitcoinSpv.hash256Memory(coinbase);
        txids[1] = keccak256("second transaction");
        (bytes memory header,) = _mineTxids(txids);
        _confirm(CONFIRMATIONS);

        // The two txids side by side hash to the Merkle root: with an empty branch this
        // "transaction" would pass the inclusion check.
        bytes memory innerNode = abi.encodePacked(txids[0], txids[1]);
        assertEq(BitcoinSpv.hash256Memory(innerNode), bytes32(_slice(header, 36, 32)));
        vm.expectRevert(SettlementPool.SettlementAmbiguousCoinbase.selector);
        pool.settle(header, innerNode, new bytes32[](0), payouts, proof);
    }

    // ----- steps 3 and 4: commitment and reward -----------------------------------------------

    function test_RevertWhen_CommitmentIsMissing() public {
        MinedBlock memory b =
            _mine(CoinbaseBuilder.coinbase(tipHeight + 1, hex"aabb", _outputs(REWARD, SETTLEMENT_SCRIPT)), 2);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementCommitmentMissing.selector, b.txid));
        _settle(b, payouts, proof);
    }

    function test_RevertWhen_CommitmentIsDuplicated() public {
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](3);
        outputs[0] = CoinbaseBuilder.Output(REWARD, SETTLEMENT_SCRIPT);
        outputs[1] = CoinbaseBuilder.Output(0, CoinbaseBuilder.commitmentScript(windowRoot));
        outputs[2] = CoinbaseBuilder.Output(0, CoinbaseBuilder.commitmentScript(bytes32(uint256(7))));
        MinedBlock memory b = _mine(CoinbaseBuilder.coinbase(tipHeight + 1, hex"aabb", outputs), 2);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementCommitmentDuplicated.selector, b.txid, 2));
        _settle(b, payouts, proof);
    }

    function test_RevertWhen_CoinbasePaysAnotherScript() public {
        bytes memory otherScript = hex"0014000102030405060708090a0b0c0d0e0f10111213";
        MinedBlock memory b = _mine(CoinbaseBuilder.poolCoinbase(tipHeight + 1, windowRoot, REWARD, otherScript), 2);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementNoReward.selector, b.txid));
        _settle(b, payouts, proof);
    }

    // ----- step 5: funds ----------------------------------------------------------------------

    function test_RevertWhen_FundsWereNotDelivered() public {
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementFundsNotDelivered.selector, b.txid, 0, uint256(REWARD))
        );
        _settle(b, payouts, proof);
    }

    function test_RevertWhen_BridgeReportsFundsItDidNotSend() public {
        LyingPegIn liar = new LyingPegIn();
        SettlementPool lied = new SettlementPool(
            SettlementPool.Config({
                lightClient: lightClient,
                verifier: verifier,
                token: token,
                pegIn: liar,
                settlementScript: SETTLEMENT_SCRIPT,
                feeRecipient: feeRecipient,
                feeBps: FEE_BPS,
                confirmations: CONFIRMATIONS,
                windowSize: WINDOW_SIZE,
                maxPayouts: MAX_PAYOUTS
            })
        );
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementUnderfunded.selector, 0, uint256(type(uint64).max))
        );
        lied.settle(b.header, b.coinbase, b.branch, payouts, proof);
    }

    function test_ExcessDeliveryIsCreditedToTheFeeRecipient() public {
        (SettlementPool generous, ReportingPegIn bridge, WrappedBtc paid) = _poolWithReportingBridge();
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS);
        uint256 excess = 1234;
        bridge.report(b.txid, REWARD + excess);
        paid.mint(address(generous), REWARD + excess);
        uint256 fee = _fee(REWARD);
        uint256 dust = REWARD - fee - _sum(payouts);

        vm.expectEmit(address(generous));
        emit SettlementPool.BlockSettled(b.blockHash, windowRoot, REWARD, fee, dust, keccak256(abi.encode(payouts)));
        vm.expectEmit(address(generous));
        emit SettlementPool.ExcessDeliveryCredited(b.txid, feeRecipient, excess);
        generous.settle(b.header, b.coinbase, b.branch, payouts, proof);

        assertEq(generous.balanceOf(feeRecipient), fee + dust + excess);
        // Every delivered unit is owed to someone.
        assertEq(generous.totalCredited(), REWARD + excess);
        assertEq(paid.balanceOf(address(generous)), generous.totalCredited());
        vm.prank(feeRecipient);
        assertEq(generous.claim(), fee + dust + excess);
    }

    function test_SettlementWithoutExcessEmitsNoExcessEvent() public {
        MinedBlock memory b = _readyBlock();
        vm.recordLogs();
        _settle(b, payouts, proof);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != SettlementPool.ExcessDeliveryCredited.selector);
        }
        assertEq(pool.totalCredited(), REWARD);
    }

    function test_RevertWhen_AnExcessDeliveryIsReportedButNotSent() public {
        (SettlementPool generous, ReportingPegIn bridge, WrappedBtc paid) = _poolWithReportingBridge();
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS);
        bridge.report(b.txid, REWARD + 1);
        paid.mint(address(generous), REWARD);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementUnderfunded.selector, uint256(REWARD), uint256(REWARD) + 1)
        );
        generous.settle(b.header, b.coinbase, b.branch, payouts, proof);
    }

    // ----- step 6: replay ---------------------------------------------------------------------

    function test_RevertWhen_ReplayingTheSameBlock() public {
        MinedBlock memory b = _readyBlock();
        _settle(b, payouts, proof);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementAlreadySettled.selector, b.txid, b.blockHash));
        _settle(b, payouts, proof);
    }

    function test_RevertWhen_TheSameCoinbaseReturnsInAnotherBlock() public {
        MinedBlock memory b = _readyBlock();
        _settle(b, payouts, proof);
        // The block is reorganised out and its coinbase mined again in a heavier fork (same
        // height, same transactions, another header): its delivered funds were already spent.
        bytes32 parent = lightClient.blockHashAt(b.height - 1);
        bytes memory again = BlockBuilder.mine(
            parent, bytes32(_slice(b.header, 36, 32)), uint32(GENESIS_TIME + b.height * 600 + 7), 0x207fffff, 0
        );
        bytes memory fork = again;
        bytes32 forkTip = BlockBuilder.hashOf(again);
        for (uint256 i; i < CONFIRMATIONS; ++i) {
            bytes memory header = BlockBuilder.mine(
                forkTip,
                keccak256(abi.encode("fork", i)),
                uint32(GENESIS_TIME + (b.height + i + 1) * 600 + 7),
                0x207fffff,
                0
            );
            forkTip = BlockBuilder.hashOf(header);
            fork = abi.encodePacked(fork, header);
        }
        lightClient.submitHeaders(b.height - 1, fork);

        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementAlreadySettled.selector, b.txid, b.blockHash));
        pool.settle(again, b.coinbase, b.branch, payouts, proof);
    }

    // ----- step 7: the payout list ------------------------------------------------------------

    function test_RevertWhen_PayoutsAreNotSorted() public {
        MinedBlock memory b = _readyBlock();
        Payout[] memory list = payouts;
        (list[1], list[2]) = (list[2], list[1]);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementPayoutsNotSorted.selector, 2));
        _settle(b, list, proof);
    }

    function test_RevertWhen_AnAccountAppearsTwice() public {
        MinedBlock memory b = _readyBlock();
        Payout[] memory list = payouts;
        list[3].account = list[2].account;
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementPayoutsNotSorted.selector, 3));
        _settle(b, list, proof);
    }

    function test_RevertWhen_APayoutGoesToTheZeroAddress() public {
        MinedBlock memory b = _readyBlock();
        Payout[] memory list = payouts;
        list[0].account = address(0);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementPayoutsNotSorted.selector, 0));
        _settle(b, list, proof);
    }

    function test_RevertWhen_TooManyPayouts() public {
        MinedBlock memory b = _readyBlock();
        Payout[] memory list = _payouts(MAX_PAYOUTS + 1, 1000, 0);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementTooManyPayouts.selector, MAX_PAYOUTS + 1, MAX_PAYOUTS)
        );
        _settle(b, list, proof);
    }

    function test_RevertWhen_PayoutsExceedTheNetReward() public {
        MinedBlock memory b = _readyBlock();
        Payout[] memory list = payouts;
        uint256 net = REWARD - _fee(REWARD);
        uint256 paid;
        for (uint256 i; i < list.length; ++i) {
            paid += list[i].amount;
        }
        list[0].amount += uint64(net - paid + 1);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementPayoutsExceedNet.selector, net + 1, net));
        _settle(b, list, proof);
    }

    // ----- step 8: the proof ------------------------------------------------------------------

    function test_RevertWhen_PayoutsDifferByOneSat() public {
        MinedBlock memory b = _readyBlock();
        Payout[] memory list = payouts;
        list[0].amount -= 1;
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, list, proof);
    }

    function test_RevertWhen_ProofIsWrong() public {
        MinedBlock memory b = _readyBlock();
        uint256[8] memory wrong = proof;
        wrong[6] ^= 1;
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, payouts, wrong);
    }

    function test_RevertWhen_VerifierRejects() public {
        RejectingVerifier rejecting = new RejectingVerifier();
        _deploy(rejecting, FEE_BPS, CONFIRMATIONS, MAX_PAYOUTS);
        MinedBlock memory b = _readyBlock();
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, payouts, proof);
    }

    function test_RevertWhen_ProvenForAnotherReward() public {
        // The coinbase pays one sat more than the statement that was proven.
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD + 1);
        _confirm(CONFIRMATIONS);
        _deliver(b);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, payouts, proof);
    }

    // ----- fee --------------------------------------------------------------------------------

    function test_FeeRecipientLowersTheFee() public {
        vm.expectEmit(address(pool));
        emit SettlementPool.FeeLowered(FEE_BPS, 50);
        vm.prank(feeRecipient);
        pool.lowerFee(50);
        assertEq(pool.feeBps(), 50);
    }

    function test_RevertWhen_ProvenForTheFeeBeforeItWasLowered() public {
        MinedBlock memory b = _readyBlock();
        vm.prank(feeRecipient);
        pool.lowerFee(50);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, payouts, proof);
    }

    function test_RevertWhen_FeeWouldRise() public {
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementFeeNotLowered.selector, FEE_BPS, FEE_BPS + 1));
        vm.prank(feeRecipient);
        pool.lowerFee(FEE_BPS + 1);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementFeeNotLowered.selector, FEE_BPS, FEE_BPS));
        vm.prank(feeRecipient);
        pool.lowerFee(FEE_BPS);
    }

    function test_RevertWhen_AnotherAccountLowersTheFee() public {
        address stranger = makeAddr("stranger");
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementUnauthorized.selector, stranger));
        vm.prank(stranger);
        pool.lowerFee(0);
    }

    // ----- configuration ----------------------------------------------------------------------

    function test_RevertWhen_ConfigIsInvalid() public {
        SettlementPool.Config memory config = _config();
        config.feeBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidConfig.selector, "feeBps"));
        new SettlementPool(config);

        config = _config();
        config.confirmations = 0;
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidConfig.selector, "confirmations"));
        new SettlementPool(config);

        config = _config();
        config.settlementScript = "";
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidConfig.selector, "settlementScript"));
        new SettlementPool(config);

        config = _config();
        config.verifier = IGroth16Verifier(address(0));
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidConfig.selector, "verifier"));
        new SettlementPool(config);
    }

    function test_ExposesItsConfiguration() public view {
        (IBtcLightClient lc, IGroth16Verifier v,,) = pool.dependencies();
        assertEq(address(lc), address(lightClient));
        assertEq(address(v), address(verifier));
        (address recipient, uint256 confirmations, uint256 windowSize, uint256 maxPayouts) = pool.parameters();
        assertEq(recipient, feeRecipient);
        assertEq(confirmations, CONFIRMATIONS);
        assertEq(windowSize, WINDOW_SIZE);
        assertEq(maxPayouts, MAX_PAYOUTS);
        assertEq(pool.settlementScript(), SETTLEMENT_SCRIPT);
    }

    // ----- payout binding ---------------------------------------------------------------------

    function test_ChallengeIsTheAbiEncodingsKeccakModR() public view {
        uint256 expected =
            uint256(keccak256(abi.encode(windowRoot, uint256(REWARD), FEE_BPS, payouts))) % PayoutBinding.FIELD_ORDER;
        assertEq(pool.computeChallenge(windowRoot, REWARD, FEE_BPS, payouts), expected);
    }

    function test_SIsTheListEvaluatedAtTheChallenge() public view {
        uint256 r = PayoutBinding.FIELD_ORDER;
        uint256 c = pool.computeChallenge(windowRoot, REWARD, FEE_BPS, payouts);
        uint256 expected;
        uint256 power = 1;
        for (uint256 j; j < payouts.length; ++j) {
            uint256 entry = uint256(uint160(payouts[j].account)) + uint256(payouts[j].amount) * 2 ** 160;
            expected = addmod(expected, mulmod(power, entry, r), r);
            power = mulmod(power, c, r);
        }
        assertEq(pool.computeS(c, payouts), expected);
        // j counts from 0: the first entry's coefficient is 1.
        Payout[] memory one = new Payout[](1);
        one[0] = payouts[0];
        assertEq(pool.computeS(c, one), uint256(uint160(one[0].account)) + uint256(one[0].amount) * 2 ** 160);
    }

    function test_PublicInputsPackRewardAndFee() public view {
        uint256[4] memory input = pool.publicInputs(windowRoot, REWARD, FEE_BPS, payouts);
        uint256 c = pool.computeChallenge(windowRoot, REWARD, FEE_BPS, payouts);
        assertEq(input[0], uint256(windowRoot));
        assertEq(input[1], uint256(REWARD) + FEE_BPS * 2 ** 64);
        assertEq(input[2], c);
        assertEq(input[3], pool.computeS(c, payouts));
        assertEq(pool.payoutHash(payouts), keccak256(abi.encode(payouts)));
    }

    function testFuzz_AnyChangeToThePayoutListChangesTheInputs(uint256 index, uint64 delta, bool moveAccount)
        public
        view
    {
        index = bound(index, 0, payouts.length - 1);
        delta = uint64(bound(delta, 1, 1_000_000));
        Payout[] memory list = payouts;
        if (moveAccount) list[index].account = address(uint160(list[index].account) ^ 0x8000);
        else list[index].amount += delta;
        uint256[4] memory before = pool.publicInputs(windowRoot, REWARD, FEE_BPS, payouts);
        uint256[4] memory changed = pool.publicInputs(windowRoot, REWARD, FEE_BPS, list);
        assertNotEq(before[2], changed[2]);
        assertNotEq(before[3], changed[3]);
    }

    // ----- gas --------------------------------------------------------------------------------

    function test_Gas_SettleOneNewPayee() public {
        _gasSettle(1, "settle_1_new_payee");
    }

    function test_Gas_SettleEightNewPayees() public {
        _gasSettle(8, "settle_8_new_payees");
    }

    function test_Gas_SettleOneReturningPayee() public {
        _gasSettleTwice(1, "settle_1_returning_payee");
    }

    function test_Gas_SettleEightReturningPayees() public {
        _gasSettleTwice(8, "settle_8_returning_payees");
    }

    function test_Gas_Claim() public {
        _settle(_readyBlock(), payouts, proof);
        vm.prank(payouts[0].account);
        pool.claim();
        uint256 txGas = vm.snapshotGasLastCall("SettlementPool", "claim_tx");
        vm.snapshotValue(
            "SettlementPool", "claim_execution", GasMeter.executionGas(txGas, abi.encodeCall(SettlementPool.claim, ()))
        );
    }

    function test_Gas_SpvPartOfSettle() public {
        SettlementPoolHarness harness = new SettlementPoolHarness(_config());
        MinedBlock memory b = _readyBlock();
        (bytes32 blockHash,, bytes32 root, uint256 reward) = harness.proveCoinbase(b.header, b.coinbase, b.branch);
        // A view call is measured without the transaction's intrinsic and calldata costs.
        vm.snapshotGasLastCall("SettlementPool", "settle_spv_part_execution");
        assertEq(blockHash, b.blockHash);
        assertEq(root, windowRoot);
        assertEq(reward, REWARD);
    }

    function _gasSettle(uint256 count, string memory name) internal {
        Payout[] memory list = _payouts(count, REWARD - _fee(REWARD), 0);
        _pin(REWARD, list);
        MinedBlock memory b = _readyBlock();
        _settle(b, list, proof);
        _snapshotSettle(b, list, name);
    }

    /// @dev Settles two blocks for the same list and measures the second: every payee and the
    /// fee recipient already hold a balance.
    function _gasSettleTwice(uint256 count, string memory name) internal {
        Payout[] memory list = _payouts(count, REWARD - _fee(REWARD), 0);
        _pin(REWARD, list);
        _settle(_readyBlock(), list, proof);
        MinedBlock memory b = _readyBlock();
        _settle(b, list, proof);
        _snapshotSettle(b, list, name);
    }

    function _snapshotSettle(MinedBlock memory b, Payout[] memory list, string memory name) internal {
        uint256 txGas = vm.snapshotGasLastCall("SettlementPool", string.concat(name, "_tx"));
        bytes memory callData = abi.encodeCall(SettlementPool.settle, (b.header, b.coinbase, b.branch, list, proof));
        vm.snapshotValue(
            "SettlementPool", string.concat(name, "_execution_stub_verifier"), GasMeter.executionGas(txGas, callData)
        );
    }

    // ----- scenario ---------------------------------------------------------------------------

    /// @dev A pool block for the pinned statement, confirmed and delivered.
    function _readyBlock() internal returns (MinedBlock memory b) {
        b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS);
        _deliver(b);
    }

    function _pin(uint64 reward, Payout[] memory list) internal {
        verifier.pin(proof, pool.publicInputs(windowRoot, reward, FEE_BPS, list));
    }

    function _fee(uint256 reward) internal pure returns (uint256) {
        return reward * FEE_BPS / 10_000;
    }

    function _outputs(uint64 value, bytes memory script) internal pure returns (CoinbaseBuilder.Output[] memory o) {
        o = new CoinbaseBuilder.Output[](1);
        o[0] = CoinbaseBuilder.Output(value, script);
    }

    /// @dev A pool paid in a token this test mints, whose bridge reports what the test says.
    function _poolWithReportingBridge() internal returns (SettlementPool, ReportingPegIn, WrappedBtc) {
        WrappedBtc paid = new WrappedBtc(address(this));
        ReportingPegIn bridge = new ReportingPegIn();
        SettlementPool.Config memory config = _config();
        config.token = paid;
        config.pegIn = bridge;
        return (new SettlementPool(config), bridge, paid);
    }

    function _sum(Payout[] memory list) internal pure returns (uint256 total) {
        for (uint256 i; i < list.length; ++i) {
            total += list[i].amount;
        }
    }

    function _config() internal view returns (SettlementPool.Config memory) {
        return SettlementPool.Config({
            lightClient: lightClient,
            verifier: verifier,
            token: token,
            pegIn: pegIn,
            settlementScript: SETTLEMENT_SCRIPT,
            feeRecipient: feeRecipient,
            feeBps: FEE_BPS,
            confirmations: CONFIRMATIONS,
            windowSize: WINDOW_SIZE,
            maxPayouts: MAX_PAYOUTS
        });
    }

    function _slice(bytes memory data, uint256 from, uint256 length) internal pure returns (bytes memory out) {
        out = new bytes(length);
        for (uint256 i; i < length; ++i) {
            out[i] = data[from + i];
        }
    }
}

/// @notice A bridge that reports what it is told (the test mints the tokens, or not).
contract ReportingPegIn is IPegIn {
    mapping(bytes32 coinbaseTxid => uint256 amount) public delivered;

    function report(bytes32 coinbaseTxid, uint256 amount) external {
        delivered[coinbaseTxid] = amount;
    }
}

/// @notice A bridge that reports deliveries it never made.
contract LyingPegIn is IPegIn {
    function delivered(bytes32) external pure returns (uint256) {
        return type(uint64).max;
    }
}
