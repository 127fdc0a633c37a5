// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";

import {SettlementPool} from "../src/SettlementPool.sol";
import {WrappedBtc} from "../src/WrappedBtc.sol";
import {IBtcLightClient} from "../src/interfaces/IBtcLightClient.sol";
import {IGroth16Verifier} from "../src/interfaces/IGroth16Verifier.sol";
import {IPegIn} from "../src/interfaces/IPegIn.sol";
import {BitcoinSpv} from "../src/lib/BitcoinSpv.sol";
import {PayeeList} from "../src/lib/PayeeList.sol";
import {BlockBuilder} from "./builders/BlockBuilder.sol";
import {CoinbaseBuilder} from "./builders/CoinbaseBuilder.sol";
import {PayeeListBuilder} from "./builders/PayeeListBuilder.sol";
import {SettlementScenario} from "./builders/SettlementScenario.sol";
import {StatementReference} from "./builders/StatementReference.sol";
import {RejectingVerifier} from "./mocks/RejectingVerifier.sol";

/// @dev Settlement in one transaction (`settle`): its checks, the statement it binds (beta and
/// T against `StatementReference`), the allocation it credits (against the reference), claims
/// and the fee rule. The verifier is `PinnedVerifier` (accepts exactly the statements the test
/// pins) or `RejectingVerifier`; SettlementProof.t.sol repeats the main cases with the
/// circuits' real verifier; SettlementPaged.t.sol covers the paged flow.
contract SettlementPoolTest is SettlementScenario {
    uint256 internal constant FEE_BPS = 100;
    uint256 internal constant CONFIRMATIONS = 3;
    uint64 internal constant REWARD = 50_0000_0000;
    uint256 internal constant ONE_PAGE = 1 << 32;

    bytes32 internal windowRoot;
    uint256 internal weightCommitment;
    Statement internal st;

    function setUp() public {
        _deployPinned(FEE_BPS, CONFIRMATIONS);
        windowRoot = keccak256("window root") >> 8; // a field element
        weightCommitment = uint256(keccak256("weight commitment")) >> 8;
        Statement memory s = _statement(windowRoot, weightCommitment, PayeeListBuilder.synthetic(7, 0), ONE_PAGE, 1);
        _pin(s);
        _store(s);
    }

    // ----- success ----------------------------------------------------------------------------

    function test_SettleCreditsEachPayeeItsShareAndTheFeeRecipientFeeAndDust() public {
        Statement memory s = st;
        MinedBlock memory b = _readyBlock();
        (uint256[] memory amounts, uint256 fee, uint256 dust) =
            StatementReference.allocate(REWARD, FEE_BPS, s.payees.weights);
        assertGt(dust, 0, "the split leaves rounding dust");

        vm.expectEmit(address(pool));
        emit SettlementPool.BlockSettled(b.blockHash, windowRoot, REWARD, fee, dust, s.hashes[0]);
        _settleOne(b, s);

        for (uint256 i; i < amounts.length; ++i) {
            assertEq(pool.balanceOf(s.payees.accounts[i]), amounts[i]);
        }
        assertEq(pool.balanceOf(feeRecipient), fee + dust);
        assertEq(pool.totalCredited(), REWARD);
        assertEq(pool.settledBlockOf(b.txid), b.blockHash);
        assertEq(token.balanceOf(address(pool)), REWARD);
    }

    function testFuzz_AllocationIsTheReferencesFloorsAndDust(uint256 seed, uint256 count, uint64 reward, uint256 feeBps)
        public
    {
        count = bound(count, 1, 24);
        reward = uint64(bound(reward, 1, 21_000_000 * 1e8));
        feeBps = bound(feeBps, 0, 10_000);
        _deployPinned(feeBps, CONFIRMATIONS);
        // Weights of every size from 1 to 2^116, so that floors and dust take every shape.
        PayeeListBuilder.Payees memory payees = PayeeListBuilder.synthetic(count, seed);
        for (uint256 i; i < count; ++i) {
            uint256 bits = uint256(keccak256(abi.encode(seed, "bits", i))) % 117;
            payees.weights[i] = 1 + uint256(keccak256(abi.encode(seed, "weight", i))) % (uint256(1) << bits);
        }
        Statement memory s = _statement(windowRoot, weightCommitment, payees, ONE_PAGE, 2);
        _pin(s);
        MinedBlock memory b = _minePoolBlock(windowRoot, reward);
        _confirm(CONFIRMATIONS);
        _deliver(b);

        (uint256[] memory amounts, uint256 fee, uint256 dust) =
            StatementReference.allocate(reward, feeBps, payees.weights);
        vm.expectEmit(address(pool));
        emit SettlementPool.BlockSettled(b.blockHash, windowRoot, reward, fee, dust, s.hashes[0]);
        _settleOne(b, s);
        for (uint256 i; i < count; ++i) {
            assertEq(pool.balanceOf(payees.accounts[i]), amounts[i]);
        }
        assertEq(pool.balanceOf(feeRecipient), fee + dust);
        assertEq(pool.totalCredited(), reward);
    }

    function test_SettlesAnEmptyListWhollyToTheFeeRecipient() public {
        Statement memory none = _statement(windowRoot, weightCommitment, _noPayees(), ONE_PAGE, 3);
        _pin(none);
        assertEq(none.hashes[0], bytes32(0), "the empty list's hash is h_0 = 0");
        MinedBlock memory b = _readyBlock();
        uint256 fee = REWARD * FEE_BPS / 10_000;
        vm.expectEmit(address(pool));
        emit SettlementPool.BlockSettled(b.blockHash, windowRoot, REWARD, fee, REWARD - fee, none.hashes[0]);
        _settleOne(b, none);
        assertEq(pool.balanceOf(feeRecipient), REWARD);
        assertEq(pool.totalCredited(), REWARD);
    }

    function test_AZeroAmountWritesNothing() public {
        // One payee's weight is so small beside the others' that its share rounds to zero.
        PayeeListBuilder.Payees memory payees = PayeeListBuilder.synthetic(3, 7);
        payees.weights[1] = 1;
        Statement memory s = _statement(windowRoot, weightCommitment, payees, ONE_PAGE, 4);
        _pin(s);
        (uint256[] memory amounts,,) = StatementReference.allocate(REWARD, FEE_BPS, payees.weights);
        assertEq(amounts[1], 0);
        MinedBlock memory b = _readyBlock();

        vm.record();
        _settleOne(b, s);
        (, bytes32[] memory writes) = vm.accesses(address(pool));
        // `_balances` is the pool's first storage variable (slot 0).
        assertTrue(_contains(writes, _balanceSlot(payees.accounts[0])), "a credited balance is written");
        assertFalse(_contains(writes, _balanceSlot(payees.accounts[1])), "a zero amount wrote its balance");
        assertEq(pool.balanceOf(payees.accounts[1]), 0);
        assertEq(pool.totalCredited(), REWARD);
    }

    function test_TheSameStatementSettlesWhateverTheReward() public {
        // The proof binds the window and the list, not R: the contract splits whatever the
        // coinbase pays.
        Statement memory s = st;
        _settleOne(_readyBlock(), s);
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD + 12_345);
        _confirm(CONFIRMATIONS);
        _deliver(b);
        _settleOne(b, s);
        (uint256[] memory first,,) = StatementReference.allocate(REWARD, FEE_BPS, s.payees.weights);
        (uint256[] memory second,,) = StatementReference.allocate(REWARD + 12_345, FEE_BPS, s.payees.weights);
        assertEq(pool.balanceOf(s.payees.accounts[3]), first[3] + second[3]);
        assertEq(pool.totalCredited(), 2 * uint256(REWARD) + 12_345);
    }

    function test_ClaimPaysTheCallerItsBalance() public {
        _settleOne(_readyBlock(), st);
        address miner = st.payees.accounts[2];
        uint256 amount = pool.balanceOf(miner);
        assertGt(amount, 0);

        vm.expectEmit(address(pool));
        emit SettlementPool.Claimed(miner, amount);
        vm.prank(miner);
        assertEq(pool.claim(), amount);

        assertEq(token.balanceOf(miner), amount);
        assertEq(pool.balanceOf(miner), 0);
        assertEq(pool.totalClaimed(), amount);
    }

    function test_ClaimForPaysTheAccountItself() public {
        _settleOne(_readyBlock(), st);
        address miner = st.payees.accounts[1];
        uint256 amount = pool.balanceOf(miner);
        address stranger = makeAddr("stranger");
        vm.prank(stranger);
        pool.claimFor(miner);
        assertEq(token.balanceOf(miner), amount);
        assertEq(token.balanceOf(stranger), 0);
    }

    function test_FeeRecipientClaimsFeeAndDust() public {
        _settleOne(_readyBlock(), st);
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
        _settleOne(_readyBlock(), st);
        address miner = st.payees.accounts[0];
        vm.prank(miner);
        pool.claim();
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementNothingToClaim.selector, miner));
        pool.claimFor(miner);
    }

    function test_OneClaimPaysEverythingCreditedOverFiftyBlocks() public {
        (uint256[] memory amounts,,) = StatementReference.allocate(REWARD, FEE_BPS, st.payees.weights);
        for (uint256 i; i < 50; ++i) {
            _settleOne(_readyBlock(), st);
        }
        address miner = st.payees.accounts[4];
        assertEq(pool.balanceOf(miner), 50 * amounts[4]);
        vm.prank(miner);
        assertEq(pool.claim(), 50 * amounts[4]);
        assertEq(token.balanceOf(miner), 50 * amounts[4]);
        assertEq(pool.totalCredited(), 50 * uint256(REWARD));
    }

    // ----- step 0: input shapes ---------------------------------------------------------------

    function test_RevertWhen_HeaderIsNot80Bytes() public {
        MinedBlock memory b = _readyBlock();
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementBadHeaderLength.selector, 81));
        pool.settle(abi.encodePacked(b.header, hex"00"), b.coinbase, b.branch, st.list, weightCommitment, st.proof);
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
        pool.settle(other, b.coinbase, b.branch, st.list, weightCommitment, st.proof);
    }

    function test_RevertWhen_BlockHasTooFewConfirmations() public {
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                SettlementPool.SettlementNotConfirmed.selector, b.blockHash, CONFIRMATIONS - 1, CONFIRMATIONS
            )
        );
        _settleOne(b, st);
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
        _settleOne(b, st);
    }

    function test_RevertWhen_CoinbaseClaimsAnotherHeight() public {
        // A coinbase whose BIP 34 height is not its block's: the lookup misses, never passes.
        MinedBlock memory b =
            _mine(CoinbaseBuilder.poolCoinbase(tipHeight + 5, windowRoot, REWARD, SETTLEMENT_SCRIPT), 0);
        _confirm(CONFIRMATIONS + 10);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementBlockNotInBestChain.selector, b.blockHash, b.height + 4)
        );
        _settleOne(b, st);
    }

    // ----- step 2: the coinbase is in the block -----------------------------------------------

    function test_RevertWhen_MerkleBranchIsWrong() public {
        MinedBlock memory b = _readyBlock();
        b.branch[1] = keccak256("not a sibling");
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementCoinbaseNotInBlock.selector, b.blockHash, b.txid)
        );
        _settleOne(b, st);
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
        pool.settle(header, impostor, branch, st.list, weightCommitment, st.proof);
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
        assertEq(BitcoinSpv.hash256Memory(innerNode), bytes32(PayeeListBuilder.slice(header, 36, 32)));
        vm.expectRevert(SettlementPool.SettlementAmbiguousCoinbase.selector);
        pool.settle(header, innerNode, new bytes32[](0), st.list, weightCommitment, st.proof);
    }

    // ----- steps 3 and 4: commitment and reward -----------------------------------------------

    function test_RevertWhen_CommitmentIsMissing() public {
        MinedBlock memory b =
            _mine(CoinbaseBuilder.coinbase(tipHeight + 1, hex"aabb", _outputs(REWARD, SETTLEMENT_SCRIPT)), 2);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementCommitmentMissing.selector, b.txid));
        _settleOne(b, st);
    }

    function test_RevertWhen_CommitmentIsDuplicated() public {
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](3);
        outputs[0] = CoinbaseBuilder.Output(REWARD, SETTLEMENT_SCRIPT);
        outputs[1] = CoinbaseBuilder.Output(0, CoinbaseBuilder.commitmentScript(windowRoot));
        outputs[2] = CoinbaseBuilder.Output(0, CoinbaseBuilder.commitmentScript(bytes32(uint256(7))));
        MinedBlock memory b = _mine(CoinbaseBuilder.coinbase(tipHeight + 1, hex"aabb", outputs), 2);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementCommitmentDuplicated.selector, b.txid, 2));
        _settleOne(b, st);
    }

    function test_RevertWhen_CommitmentRootIsNotInTheField() public {
        bytes32 root = bytes32(PayeeList.FIELD_ORDER);
        MinedBlock memory b = _minePoolBlock(root, REWARD);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementCommitmentRootNotInField.selector, b.txid, root)
        );
        _settleOne(b, st);
    }

    function test_RevertWhen_CoinbasePaysAnotherScript() public {
        bytes memory otherScript = hex"0014000102030405060708090a0b0c0d0e0f10111213";
        MinedBlock memory b = _mine(CoinbaseBuilder.poolCoinbase(tipHeight + 1, windowRoot, REWARD, otherScript), 2);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementNoReward.selector, b.txid));
        _settleOne(b, st);
    }

    // ----- step 5: funds ----------------------------------------------------------------------

    function test_RevertWhen_FundsWereNotDelivered() public {
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementFundsNotDelivered.selector, b.txid, 0, uint256(REWARD))
        );
        _settleOne(b, st);
    }

    function test_RevertWhen_BridgeReportsFundsItDidNotSend() public {
        SettlementPool.Config memory config = _config();
        config.pegIn = new LyingPegIn();
        SettlementPool lied = new SettlementPool(config);
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementUnderfunded.selector, 0, uint256(type(uint64).max))
        );
        lied.settle(b.header, b.coinbase, b.branch, st.list, weightCommitment, st.proof);
    }

    function test_ExcessDeliveryIsCreditedToTheFeeRecipient() public {
        (SettlementPool generous, ReportingPegIn bridge, WrappedBtc paid) = _poolWithReportingBridge();
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS);
        uint256 excess = 1234;
        bridge.report(b.txid, REWARD + excess);
        paid.mint(address(generous), REWARD + excess);
        (, uint256 fee, uint256 dust) = StatementReference.allocate(REWARD, FEE_BPS, st.payees.weights);

        vm.expectEmit(address(generous));
        emit SettlementPool.BlockSettled(b.blockHash, windowRoot, REWARD, fee, dust, st.hashes[0]);
        vm.expectEmit(address(generous));
        emit SettlementPool.ExcessDeliveryCredited(b.txid, feeRecipient, excess);
        generous.settle(b.header, b.coinbase, b.branch, st.list, weightCommitment, st.proof);

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
        _settleOne(b, st);
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
        generous.settle(b.header, b.coinbase, b.branch, st.list, weightCommitment, st.proof);
    }

    // ----- step 6: replay ---------------------------------------------------------------------

    function test_RevertWhen_ReplayingTheSameBlock() public {
        MinedBlock memory b = _readyBlock();
        _settleOne(b, st);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementAlreadySettled.selector, b.txid, b.blockHash));
        _settleOne(b, st);
    }

    function test_RevertWhen_TheSameCoinbaseReturnsInAnotherBlock() public {
        MinedBlock memory b = _readyBlock();
        _settleOne(b, st);
        // The block is reorganised out and its coinbase mined again in a heavier fork (same
        // height, same transactions, another header): its delivered funds were already spent.
        bytes32 parent = lightClient.blockHashAt(b.height - 1);
        bytes memory again = BlockBuilder.mine(
            parent,
            bytes32(PayeeListBuilder.slice(b.header, 36, 32)),
            uint32(GENESIS_TIME + b.height * 600 + 7),
            0x207fffff,
            0
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
        pool.settle(again, b.coinbase, b.branch, st.list, weightCommitment, st.proof);
    }

    // ----- step 7: the payee list -------------------------------------------------------------

    function test_RevertWhen_ListIsNotWholeRecords() public {
        MinedBlock memory b = _readyBlock();
        bytes memory longer = bytes.concat(st.list, hex"01");
        vm.expectRevert(abi.encodeWithSelector(PayeeList.PayeeListBadLength.selector, longer.length));
        _settle(b, longer, weightCommitment, st.proof);

        bytes memory shorter = PayeeListBuilder.slice(st.list, 0, st.list.length - 1);
        vm.expectRevert(abi.encodeWithSelector(PayeeList.PayeeListBadLength.selector, shorter.length));
        _settle(b, shorter, weightCommitment, st.proof);

        vm.expectRevert(abi.encodeWithSelector(PayeeList.PayeeListBadLength.selector, 35));
        _settle(b, PayeeListBuilder.slice(st.list, 0, 35), weightCommitment, st.proof);
    }

    function test_RevertWhen_AccountsAreNotAscending() public {
        MinedBlock memory b = _readyBlock();
        PayeeListBuilder.Payees memory payees = _copy(st.payees);
        (payees.accounts[2], payees.accounts[3]) = (payees.accounts[3], payees.accounts[2]);
        vm.expectRevert(abi.encodeWithSelector(PayeeList.PayeeListNotAscending.selector, 3, payees.accounts[3]));
        _settle(b, PayeeListBuilder.encode(payees), weightCommitment, st.proof);
    }

    function test_RevertWhen_AnAccountAppearsTwice() public {
        MinedBlock memory b = _readyBlock();
        PayeeListBuilder.Payees memory payees = _copy(st.payees);
        payees.accounts[5] = payees.accounts[4];
        vm.expectRevert(abi.encodeWithSelector(PayeeList.PayeeListNotAscending.selector, 5, payees.accounts[4]));
        _settle(b, PayeeListBuilder.encode(payees), weightCommitment, st.proof);
    }

    function test_RevertWhen_ThePayeeIsTheZeroAddress() public {
        MinedBlock memory b = _readyBlock();
        PayeeListBuilder.Payees memory payees = _copy(st.payees);
        payees.accounts[0] = address(0);
        vm.expectRevert(abi.encodeWithSelector(PayeeList.PayeeListNotAscending.selector, 0, address(0)));
        _settle(b, PayeeListBuilder.encode(payees), weightCommitment, st.proof);
    }

    function test_RevertWhen_AWeightIsZero() public {
        MinedBlock memory b = _readyBlock();
        PayeeListBuilder.Payees memory payees = _copy(st.payees);
        payees.weights[6] = 0;
        vm.expectRevert(abi.encodeWithSelector(PayeeList.PayeeListZeroWeight.selector, 6, payees.accounts[6]));
        _settle(b, PayeeListBuilder.encode(payees), weightCommitment, st.proof);
    }

    function test_RevertWhen_WeightCommitmentIsNotInTheField() public {
        MinedBlock memory b = _readyBlock();
        uint256 x = PayeeList.FIELD_ORDER + weightCommitment;
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementWeightCommitmentNotInField.selector, x));
        _settle(b, st.list, x, st.proof);
    }

    function test_RevertWhen_BetaIsOneOfTheAccounts() public {
        // beta is drawn from the list's own hash, so no list made for it exists; the helper
        // takes beta as an argument and runs the same check.
        address account = st.payees.accounts[4];
        vm.expectRevert(abi.encodeWithSelector(PayeeList.PayeeListChallengeIsAnAccount.selector, account));
        pool.computeTableSum(uint256(uint160(account)), st.list);
        // One above is fine.
        pool.computeTableSum(uint256(uint160(account)) + 1, st.list);
    }

    // ----- step 8: the proof ------------------------------------------------------------------

    function test_RevertWhen_AWeightDiffersByOne() public {
        MinedBlock memory b = _readyBlock();
        PayeeListBuilder.Payees memory payees = _copy(st.payees);
        payees.weights[0] -= 1;
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, PayeeListBuilder.encode(payees), weightCommitment, st.proof);
    }

    function test_RevertWhen_AnAccountIsReplaced() public {
        MinedBlock memory b = _readyBlock();
        PayeeListBuilder.Payees memory payees = _copy(st.payees);
        payees.accounts[3] = address(uint160(payees.accounts[3]) + 1); // still ascending
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, PayeeListBuilder.encode(payees), weightCommitment, st.proof);
    }

    function test_RevertWhen_APayeeIsLeftOut() public {
        MinedBlock memory b = _readyBlock();
        bytes memory shorter = PayeeListBuilder.slice(st.list, 0, st.list.length - 36);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, shorter, weightCommitment, st.proof);
    }

    function test_RevertWhen_WeightCommitmentIsAnother() public {
        MinedBlock memory b = _readyBlock();
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, st.list, weightCommitment + 1, st.proof);
    }

    function test_RevertWhen_ProvenForAnotherWindow() public {
        MinedBlock memory b = _minePoolBlock(bytes32(uint256(windowRoot) + 1), REWARD);
        _confirm(CONFIRMATIONS);
        _deliver(b);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settleOne(b, st);
    }

    function test_RevertWhen_ProofIsWrong() public {
        MinedBlock memory b = _readyBlock();
        uint256[8] memory wrong = st.proof;
        wrong[6] ^= 1;
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, st.list, weightCommitment, wrong);
    }

    function test_RevertWhen_VerifierRejects() public {
        _deploy(new RejectingVerifier(), FEE_BPS, CONFIRMATIONS);
        MinedBlock memory b = _readyBlock();
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settleOne(b, st);
    }

    // ----- the statement ----------------------------------------------------------------------

    function test_HelpersComputeTheReferenceStatement() public view {
        // One record: keccak256(record ‖ 0).
        bytes memory first = PayeeListBuilder.slice(st.list, 0, 36);
        assertEq(pool.pageHash(first, bytes32(0)), keccak256(abi.encodePacked(first, bytes32(0))));
        assertEq(pool.pageHash(st.list, bytes32(0)), st.hashes[0]);
        assertEq(pool.computeChallenge(windowRoot, weightCommitment, st.hashes[0]), st.beta);
        assertEq(pool.computeTableSum(st.beta, st.list), st.tableSum);
        uint256[4] memory input = pool.publicInputs(windowRoot, weightCommitment, st.list);
        assertEq(input[0], uint256(windowRoot));
        assertEq(input[1], weightCommitment);
        assertEq(input[2], st.beta);
        assertEq(input[3], st.tableSum);
    }

    function testFuzz_TableSumIsTheReferencesOneInversionPerRecord(uint256 seed, uint256 count, uint256 beta)
        public
        view
    {
        count = bound(count, 0, 40);
        beta = bound(beta, uint256(type(uint160).max) + 1, PayeeList.FIELD_ORDER - 1); // above every account
        PayeeListBuilder.Payees memory payees = PayeeListBuilder.synthetic(count, seed);
        assertEq(pool.computeTableSum(beta, PayeeListBuilder.encode(payees)), StatementReference.tableSum(beta, payees));
    }

    function testFuzz_TheTableSumOfPagesAddsUpToTheList(uint256 seed, uint256 count, uint256 split) public view {
        count = bound(count, 1, 30);
        split = bound(split, 0, count);
        PayeeListBuilder.Payees memory payees = PayeeListBuilder.synthetic(count, seed);
        bytes memory list = PayeeListBuilder.encode(payees);
        uint256 beta = uint256(keccak256(abi.encode(seed))) % PayeeList.FIELD_ORDER;
        uint256 whole = pool.computeTableSum(beta, list);
        uint256 front = pool.computeTableSum(beta, PayeeListBuilder.slice(list, 0, split * 36));
        uint256 back = pool.computeTableSum(beta, PayeeListBuilder.slice(list, split * 36, (count - split) * 36));
        assertEq(addmod(front, back, PayeeList.FIELD_ORDER), whole);
    }

    function testFuzz_AnyChangeToTheListChangesBetaAndT(uint256 index, uint256 delta, bool moveAccount) public view {
        index = bound(index, 0, st.payees.accounts.length - 1);
        delta = bound(delta, 1, 1_000_000);
        PayeeListBuilder.Payees memory payees = _copy(st.payees);
        if (moveAccount) payees.accounts[index] = address(uint160(payees.accounts[index]) ^ 0x8000);
        else payees.weights[index] += delta;
        uint256[4] memory changed = pool.publicInputs(windowRoot, weightCommitment, _sortedEncoding(payees));
        assertNotEq(changed[2], st.beta);
        assertNotEq(changed[3], st.tableSum);
    }

    // ----- fee --------------------------------------------------------------------------------

    function test_FeeRecipientLowersTheFee() public {
        vm.expectEmit(address(pool));
        emit SettlementPool.FeeLowered(FEE_BPS, 50);
        vm.prank(feeRecipient);
        pool.lowerFee(50);
        assertEq(pool.feeBps(), 50);
    }

    function test_ALoweredFeeAppliesToTheNextSettlementWithTheSameProof() public {
        MinedBlock memory b = _readyBlock();
        vm.prank(feeRecipient);
        pool.lowerFee(50);
        (uint256[] memory amounts, uint256 fee, uint256 dust) =
            StatementReference.allocate(REWARD, 50, st.payees.weights);
        vm.expectEmit(address(pool));
        emit SettlementPool.BlockSettled(b.blockHash, windowRoot, REWARD, fee, dust, st.hashes[0]);
        _settleOne(b, st);
        assertEq(pool.balanceOf(st.payees.accounts[0]), amounts[0]);
        assertEq(pool.balanceOf(feeRecipient), fee + dust);
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

        config = _config();
        config.windowSize = 0;
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidConfig.selector, "windowSize"));
        new SettlementPool(config);
    }

    function test_ExposesItsConfiguration() public view {
        (IBtcLightClient lc, IGroth16Verifier v,,) = pool.dependencies();
        assertEq(address(lc), address(lightClient));
        assertEq(address(v), address(verifier));
        (address recipient, uint256 confirmations, uint256 windowSize) = pool.parameters();
        assertEq(recipient, feeRecipient);
        assertEq(confirmations, CONFIRMATIONS);
        assertEq(windowSize, WINDOW_SIZE);
        assertEq(pool.settlementScript(), SETTLEMENT_SCRIPT);
    }

    // ----- scenario ---------------------------------------------------------------------------

    /// @dev A pool block for the pinned statement, confirmed and delivered.
    function _readyBlock() internal returns (MinedBlock memory) {
        return _readyBlock(windowRoot, REWARD, CONFIRMATIONS);
    }

    function _store(Statement memory s) internal {
        st.windowRoot = s.windowRoot;
        st.weightCommitment = s.weightCommitment;
        st.payees = s.payees;
        st.list = s.list;
        delete st.pages;
        for (uint256 k; k < s.pages.length; ++k) {
            st.pages.push(s.pages[k]);
        }
        st.hashes = s.hashes;
        st.beta = s.beta;
        st.tableSum = s.tableSum;
        st.proof = s.proof;
    }

    function _noPayees() internal pure returns (PayeeListBuilder.Payees memory none) {
        none.accounts = new address[](0);
        none.weights = new uint256[](0);
    }

    function _copy(PayeeListBuilder.Payees memory p) internal pure returns (PayeeListBuilder.Payees memory c) {
        c.accounts = new address[](p.accounts.length);
        c.weights = new uint256[](p.weights.length);
        for (uint256 i; i < p.accounts.length; ++i) {
            c.accounts[i] = p.accounts[i];
            c.weights[i] = p.weights[i];
        }
    }

    /// @dev The encoding of `p` after sorting by account (insertion sort; short lists).
    function _sortedEncoding(PayeeListBuilder.Payees memory p) internal pure returns (bytes memory) {
        for (uint256 i = 1; i < p.accounts.length; ++i) {
            for (uint256 j = i; j > 0 && p.accounts[j - 1] > p.accounts[j]; --j) {
                (p.accounts[j - 1], p.accounts[j]) = (p.accounts[j], p.accounts[j - 1]);
                (p.weights[j - 1], p.weights[j]) = (p.weights[j], p.weights[j - 1]);
            }
        }
        return PayeeListBuilder.encode(p);
    }

    function _balanceSlot(address account) internal pure returns (bytes32) {
        return keccak256(abi.encode(account, uint256(0)));
    }

    function _contains(bytes32[] memory list, bytes32 item) internal pure returns (bool) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == item) return true;
        }
        return false;
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
            windowSize: WINDOW_SIZE
        });
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
