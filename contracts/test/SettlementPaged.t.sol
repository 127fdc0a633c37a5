// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {SettlementPool} from "../src/SettlementPool.sol";
import {WrappedBtc} from "../src/WrappedBtc.sol";
import {ISettlementPool} from "../src/interfaces/ISettlementPool.sol";
import {PayeeList} from "../src/lib/PayeeList.sol";
import {PayeeListBuilder} from "./builders/PayeeListBuilder.sol";
import {SettlementScenario} from "./builders/SettlementScenario.sol";
import {StatementReference} from "./builders/StatementReference.sol";
import {ReportingPegIn} from "./SettlementPool.t.sol";

/// @dev The paged settlement flow: `openSettlement`, `checkPayees` over every page,
/// `creditPayees` over every page. A list of 8 payees in pages of 3, 3 and 2 records; the
/// statements are pinned in `PinnedVerifier` with beta and T from `StatementReference`.
contract SettlementPagedTest is SettlementScenario {
    uint256 internal constant FEE_BPS = 150;
    uint256 internal constant CONFIRMATIONS = 2;
    uint64 internal constant REWARD = 3_1250_0000;
    uint256 internal constant PAGE_SIZE = 3;

    bytes32 internal windowRoot;
    uint256 internal weightCommitment;
    PayeeListBuilder.Payees internal payees;

    function setUp() public {
        _deployPinned(FEE_BPS, CONFIRMATIONS);
        windowRoot = keccak256("paged window") >> 8;
        weightCommitment = uint256(keccak256("paged weights")) >> 8;
        PayeeListBuilder.Payees memory p = PayeeListBuilder.synthetic(8, 42);
        payees.accounts = p.accounts;
        payees.weights = p.weights;
    }

    // ----- the whole flow ---------------------------------------------------------------------

    function test_PagedSettlementCreditsTheReferenceAllocation() public {
        Statement memory s = _honest(PAGE_SIZE);
        assertEq(s.pages.length, 3);
        MinedBlock memory b = _readyBlock();
        bytes32 expectedId = keccak256(abi.encode(b.txid, s.hashes[0], weightCommitment));
        assertEq(pool.openingId(b.txid, s.hashes[0], weightCommitment), expectedId);

        vm.expectEmit(address(pool));
        emit SettlementPool.SettlementOpened(expectedId, b.txid, b.blockHash, s.hashes[0]);
        bytes32 id = _openPaged(b, s);
        assertEq(id, expectedId);
        ISettlementPool.Opening memory o = pool.openingOf(id);
        assertEq(uint8(o.stage), uint8(ISettlementPool.Stage.Checking));
        assertEq(o.blockHash, b.blockHash);
        assertEq(o.coinbaseTxid, b.txid);
        assertEq(o.windowRoot, windowRoot);
        assertEq(o.listHash, s.hashes[0]);
        assertEq(o.cursor, s.hashes[0]);
        assertEq(o.beta, s.beta);
        assertEq(o.tableSum, s.tableSum);
        assertEq(o.reward, REWARD);
        assertEq(o.feeBps, FEE_BPS);
        // Opening settles nothing yet.
        assertEq(pool.settledBlockOf(b.txid), bytes32(0));

        pool.checkPayees(id, s.pages[0], s.hashes[1]);
        o = pool.openingOf(id);
        assertEq(o.cursor, s.hashes[1]);
        assertEq(o.payees, 3);
        assertEq(o.lastAccount, payees.accounts[2]);
        assertEq(o.totalWeight, payees.weights[0] + payees.weights[1] + payees.weights[2]);
        pool.checkPayees(id, s.pages[1], s.hashes[2]);
        assertEq(pool.settledBlockOf(b.txid), bytes32(0));

        vm.expectEmit(address(pool));
        emit SettlementPool.SettlementChecked(id, b.txid, 8, PayeeListBuilder.totalWeight(s.payees));
        pool.checkPayees(id, s.pages[2], bytes32(0));
        o = pool.openingOf(id);
        assertEq(uint8(o.stage), uint8(ISettlementPool.Stage.Crediting));
        assertEq(o.cursor, s.hashes[0]);
        assertEq(o.checkedSum, s.tableSum);
        // The check pass settles the coinbase and counts R as credited; balances follow.
        assertEq(pool.settledBlockOf(b.txid), b.blockHash);
        assertEq(pool.totalCredited(), REWARD);
        assertEq(pool.balanceOf(payees.accounts[0]), 0);

        (uint256[] memory amounts, uint256 fee, uint256 dust) =
            StatementReference.allocate(REWARD, FEE_BPS, payees.weights);
        pool.creditPayees(id, s.pages[0], s.hashes[1]);
        assertEq(pool.balanceOf(payees.accounts[2]), amounts[2]);
        assertEq(pool.balanceOf(payees.accounts[3]), 0);
        pool.creditPayees(id, s.pages[1], s.hashes[2]);
        vm.expectEmit(address(pool));
        emit SettlementPool.BlockSettled(b.blockHash, windowRoot, REWARD, fee, dust, s.hashes[0]);
        pool.creditPayees(id, s.pages[2], bytes32(0));

        for (uint256 i; i < 8; ++i) {
            assertEq(pool.balanceOf(payees.accounts[i]), amounts[i]);
        }
        assertEq(pool.balanceOf(feeRecipient), fee + dust);
        assertEq(pool.totalCredited(), REWARD);
        assertEq(uint8(pool.openingOf(id).stage), uint8(ISettlementPool.Stage.None));
    }

    function test_PagedAndOneTransactionSettlementsOfOnePageCreditTheSame() public {
        // One page: the same list hash, beta, T and proof as `settle`.
        Statement memory s = _honest(8);
        assertEq(s.pages.length, 1);
        assertEq(s.hashes[0], pool.pageHash(s.list, bytes32(0)));
        _settleOne(_readyBlock(), s);
        uint256[] memory once = new uint256[](8);
        for (uint256 i; i < 8; ++i) {
            once[i] = pool.balanceOf(payees.accounts[i]);
        }
        _settlePaged(_readyBlock(), s);
        for (uint256 i; i < 8; ++i) {
            assertEq(pool.balanceOf(payees.accounts[i]), 2 * once[i]);
        }
        assertEq(pool.totalCredited(), 2 * uint256(REWARD));
    }

    function test_PagedSettlementOfAnEmptyListPaysTheFeeRecipient() public {
        PayeeListBuilder.Payees memory none;
        none.accounts = new address[](0);
        none.weights = new uint256[](0);
        Statement memory s = _statement(windowRoot, weightCommitment, none, PAGE_SIZE, 5);
        _pin(s);
        assertEq(s.pages.length, 1);
        assertEq(s.pages[0].length, 0);
        MinedBlock memory b = _readyBlock();
        uint256 fee = uint256(REWARD) * FEE_BPS / 10_000;
        bytes32 id = _openPaged(b, s);
        vm.expectEmit(address(pool));
        emit SettlementPool.SettlementChecked(id, b.txid, 0, 0);
        pool.checkPayees(id, "", bytes32(0));
        vm.expectEmit(address(pool));
        emit SettlementPool.BlockSettled(b.blockHash, windowRoot, REWARD, fee, REWARD - fee, s.hashes[0]);
        pool.creditPayees(id, "", bytes32(0));
        assertEq(pool.balanceOf(feeRecipient), REWARD);
        assertEq(pool.totalCredited(), REWARD);
    }

    function test_AnyoneMaySubmitEveryStep() public {
        Statement memory s = _honest(PAGE_SIZE);
        MinedBlock memory b = _readyBlock();
        vm.prank(makeAddr("opener"));
        bytes32 id = _openPaged(b, s);
        for (uint256 k; k < s.pages.length; ++k) {
            vm.prank(address(uint160(0x1000 + k)));
            pool.checkPayees(id, s.pages[k], s.hashes[k + 1]);
        }
        for (uint256 k; k < s.pages.length; ++k) {
            vm.prank(address(uint160(0x2000 + k)));
            pool.creditPayees(id, s.pages[k], s.hashes[k + 1]);
        }
        assertEq(pool.balanceOf(feeRecipient) + _paid(), REWARD);
    }

    function test_TheFeeAtOpeningApplies() public {
        Statement memory s = _honest(PAGE_SIZE);
        MinedBlock memory b = _readyBlock();
        bytes32 id = _openPaged(b, s);
        vm.prank(feeRecipient);
        pool.lowerFee(20);
        _checkAll(id, s.pages, s.hashes);
        _creditAll(id, s.pages, s.hashes);
        (uint256[] memory amounts, uint256 fee, uint256 dust) =
            StatementReference.allocate(REWARD, FEE_BPS, payees.weights);
        assertEq(pool.balanceOf(payees.accounts[5]), amounts[5]);
        assertEq(pool.balanceOf(feeRecipient), fee + dust);
    }

    function test_PagedSettlementCreditsAnExcessDeliveryWithTheLastPage() public {
        Statement memory s = _honest(PAGE_SIZE);
        (ReportingPegIn bridge, WrappedBtc paid) = _useReportingBridge();
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS);
        bridge.report(b.txid, REWARD + 777);
        paid.mint(address(pool), REWARD + 777);

        bytes32 id = _openPaged(b, s);
        _checkAll(id, s.pages, s.hashes);
        assertEq(pool.openingOf(id).excess, 777);
        assertEq(pool.totalCredited(), REWARD + 777);
        (, uint256 fee, uint256 dust) = StatementReference.allocate(REWARD, FEE_BPS, payees.weights);
        pool.creditPayees(id, s.pages[0], s.hashes[1]);
        pool.creditPayees(id, s.pages[1], s.hashes[2]);
        vm.expectEmit(address(pool));
        emit SettlementPool.ExcessDeliveryCredited(b.txid, feeRecipient, 777);
        pool.creditPayees(id, s.pages[2], bytes32(0));
        assertEq(pool.balanceOf(feeRecipient), fee + dust + 777);
        assertEq(pool.balanceOf(feeRecipient) + _paid(), pool.totalCredited());
    }

    // ----- openings ---------------------------------------------------------------------------

    function test_RevertWhen_ReopeningTheSameOpening() public {
        Statement memory s = _honest(PAGE_SIZE);
        MinedBlock memory b = _readyBlock();
        bytes32 id = _openPaged(b, s);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementOpeningExists.selector, id));
        _openPaged(b, s);
        // Also once its check pass has moved on.
        pool.checkPayees(id, s.pages[0], s.hashes[1]);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementOpeningExists.selector, id));
        _openPaged(b, s);
    }

    function test_RevertWhen_OpeningWithoutTheFunds() public {
        Statement memory s = _honest(PAGE_SIZE);
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementFundsNotDelivered.selector, b.txid, 0, uint256(REWARD))
        );
        _openPaged(b, s);
    }

    function test_RevertWhen_OpeningAnUnconfirmedBlock() public {
        Statement memory s = _honest(PAGE_SIZE);
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementNotConfirmed.selector, b.blockHash, 1, CONFIRMATIONS)
        );
        _openPaged(b, s);
    }

    function test_RevertWhen_OpeningWithAnInvalidProof() public {
        Statement memory s = _honest(PAGE_SIZE);
        MinedBlock memory b = _readyBlock();
        // The proof of T, offered with T + 1.
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _open(b, s.hashes[0], weightCommitment, s.tableSum + 1, s.proof);
        // The proof of this list, offered for another list hash (beta differs).
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _open(b, s.hashes[1], weightCommitment, s.tableSum, s.proof);
    }

    function test_RevertWhen_OpeningWithInputsOutsideTheField() public {
        Statement memory s = _honest(PAGE_SIZE);
        MinedBlock memory b = _readyBlock();
        uint256 r = PayeeList.FIELD_ORDER;
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementWeightCommitmentNotInField.selector, weightCommitment + r)
        );
        _open(b, s.hashes[0], weightCommitment + r, s.tableSum, s.proof);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementTableSumNotInField.selector, s.tableSum + r));
        _open(b, s.hashes[0], weightCommitment, s.tableSum + r, s.proof);
    }

    function test_RevertWhen_OpeningASettledCoinbase() public {
        Statement memory s = _honest(PAGE_SIZE);
        MinedBlock memory b = _readyBlock();
        _settlePaged(b, s);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementAlreadySettled.selector, b.txid, b.blockHash));
        _openPaged(b, s);
    }

    function test_RevertWhen_TheOpeningIsUnknown() public {
        Statement memory s = _honest(PAGE_SIZE);
        bytes32 nothing = keccak256("no such opening");
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementUnknownOpening.selector, nothing));
        pool.checkPayees(nothing, s.pages[0], s.hashes[1]);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementUnknownOpening.selector, nothing));
        pool.creditPayees(nothing, s.pages[0], s.hashes[1]);

        // A finished opening is deleted: its pages cannot be credited twice.
        bytes32 id = _settlePaged(_readyBlock(), s);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementUnknownOpening.selector, id));
        pool.creditPayees(id, s.pages[2], bytes32(0));
    }

    // ----- pages ------------------------------------------------------------------------------

    function test_RevertWhen_APageComesOutOfOrder() public {
        Statement memory s = _honest(PAGE_SIZE);
        bytes32 id = _openPaged(_readyBlock(), s);
        bytes32 got = PayeeListBuilder.fold(s.pages[1], s.hashes[2]);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementWrongPage.selector, id, s.hashes[0], got));
        pool.checkPayees(id, s.pages[1], s.hashes[2]);
    }

    function test_RevertWhen_APageIsAltered() public {
        Statement memory s = _honest(PAGE_SIZE);
        bytes32 id = _openPaged(_readyBlock(), s);
        pool.checkPayees(id, s.pages[0], s.hashes[1]);
        bytes memory altered = s.pages[1];
        altered[35] = bytes1(uint8(altered[35]) ^ 1); // the first record's weight, lowest byte
        bytes32 got = PayeeListBuilder.fold(altered, s.hashes[2]);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementWrongPage.selector, id, s.hashes[1], got));
        pool.checkPayees(id, altered, s.hashes[2]);
    }

    function test_RevertWhen_TheNextHashIsWrong() public {
        Statement memory s = _honest(PAGE_SIZE);
        bytes32 id = _openPaged(_readyBlock(), s);
        bytes32 wrongNext = keccak256("another tail");
        bytes32 got = PayeeListBuilder.fold(s.pages[0], wrongNext);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementWrongPage.selector, id, s.hashes[0], got));
        pool.checkPayees(id, s.pages[0], wrongNext);
        // Claiming the first page is the last one is a wrong next hash too.
        got = PayeeListBuilder.fold(s.pages[0], bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementWrongPage.selector, id, s.hashes[0], got));
        pool.checkPayees(id, s.pages[0], bytes32(0));
    }

    function test_RevertWhen_ACreditPageIsWrong() public {
        Statement memory s = _honest(PAGE_SIZE);
        bytes32 id = _openPaged(_readyBlock(), s);
        _checkAll(id, s.pages, s.hashes);
        pool.creditPayees(id, s.pages[0], s.hashes[1]);
        // The first page again.
        bytes32 got = PayeeListBuilder.fold(s.pages[0], s.hashes[1]);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementWrongPage.selector, id, s.hashes[1], got));
        pool.creditPayees(id, s.pages[0], s.hashes[1]);
    }

    function test_RevertWhen_CreditingBeforeTheCheckPassCompletes() public {
        Statement memory s = _honest(PAGE_SIZE);
        bytes32 id = _openPaged(_readyBlock(), s);
        vm.expectRevert(_wrongStage(id, ISettlementPool.Stage.Checking, ISettlementPool.Stage.Crediting));
        pool.creditPayees(id, s.pages[0], s.hashes[1]);
        pool.checkPayees(id, s.pages[0], s.hashes[1]);
        pool.checkPayees(id, s.pages[1], s.hashes[2]);
        vm.expectRevert(_wrongStage(id, ISettlementPool.Stage.Checking, ISettlementPool.Stage.Crediting));
        pool.creditPayees(id, s.pages[0], s.hashes[1]);
        assertEq(pool.balanceOf(payees.accounts[0]), 0);
    }

    function test_RevertWhen_CheckingAfterTheCheckPassCompleted() public {
        Statement memory s = _honest(PAGE_SIZE);
        bytes32 id = _openPaged(_readyBlock(), s);
        _checkAll(id, s.pages, s.hashes);
        vm.expectRevert(_wrongStage(id, ISettlementPool.Stage.Crediting, ISettlementPool.Stage.Checking));
        pool.checkPayees(id, s.pages[0], s.hashes[1]);
    }

    function test_RevertWhen_OrderBreaksAcrossAPageBoundary() public {
        PayeeListBuilder.Payees memory p = _copyPayees();
        // Record 3 opens page 1 below page 0's last account.
        (p.accounts[2], p.accounts[3]) = (p.accounts[3], p.accounts[2]);
        Statement memory s = _statement(windowRoot, weightCommitment, p, PAGE_SIZE, 6);
        _pin(s);
        bytes32 id = _openPaged(_readyBlock(), s);
        pool.checkPayees(id, s.pages[0], s.hashes[1]);
        vm.expectRevert(abi.encodeWithSelector(PayeeList.PayeeListNotAscending.selector, 3, p.accounts[3]));
        pool.checkPayees(id, s.pages[1], s.hashes[2]);
    }

    function test_RevertWhen_AWeightIsZeroInALaterPage() public {
        PayeeListBuilder.Payees memory p = _copyPayees();
        p.weights[7] = 0;
        Statement memory s = _statement(windowRoot, weightCommitment, p, PAGE_SIZE, 7);
        _pin(s);
        bytes32 id = _openPaged(_readyBlock(), s);
        pool.checkPayees(id, s.pages[0], s.hashes[1]);
        pool.checkPayees(id, s.pages[1], s.hashes[2]);
        vm.expectRevert(abi.encodeWithSelector(PayeeList.PayeeListZeroWeight.selector, 7, p.accounts[7]));
        pool.checkPayees(id, s.pages[2], bytes32(0));
    }

    function test_RevertWhen_APageIsNotWholeRecords() public {
        // Pages of 40 and 32 bytes: the same 72 bytes as two records, cut elsewhere.
        bytes memory list = PayeeListBuilder.encode(_firstTwo());
        bytes[] memory pages = new bytes[](2);
        pages[0] = PayeeListBuilder.slice(list, 0, 40);
        pages[1] = PayeeListBuilder.slice(list, 40, 32);
        bytes32[] memory hashes = PayeeListBuilder.chain(pages);
        bytes32 id = _openPinned(hashes[0], 8);
        vm.expectRevert(abi.encodeWithSelector(PayeeList.PayeeListBadLength.selector, 40));
        pool.checkPayees(id, pages[0], hashes[1]);
    }

    function test_RevertWhen_AnEmptyPageSitsInAList() public {
        bytes memory list = PayeeListBuilder.encode(_firstTwo());
        bytes[] memory pages = new bytes[](3);
        pages[0] = PayeeListBuilder.slice(list, 0, 36);
        pages[1] = "";
        pages[2] = PayeeListBuilder.slice(list, 36, 36);
        bytes32[] memory hashes = PayeeListBuilder.chain(pages);
        bytes32 id = _openPinned(hashes[0], 9);
        pool.checkPayees(id, pages[0], hashes[1]);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementEmptyPage.selector, id));
        pool.checkPayees(id, pages[1], hashes[2]);

        // Nor first, before records.
        bytes[] memory leading = new bytes[](2);
        leading[0] = "";
        leading[1] = list;
        hashes = PayeeListBuilder.chain(leading);
        id = _openPinned(hashes[0], 10);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementEmptyPage.selector, id));
        pool.checkPayees(id, leading[0], hashes[1]);
    }

    // ----- the table sum and competing openings -----------------------------------------------

    function test_RevertWhen_TheTableSumDoesNotMatch() public {
        Statement memory s = _honest(PAGE_SIZE);
        MinedBlock memory b = _readyBlock();
        // A proof (pinned) of T + 1 for this list: its pages add up to T.
        uint256 proven = addmod(s.tableSum, 1, PayeeList.FIELD_ORDER);
        verifier.pin(s.proof, [uint256(windowRoot), weightCommitment, s.beta, proven]);
        bytes32 id = _open(b, s.hashes[0], weightCommitment, proven, s.proof);
        pool.checkPayees(id, s.pages[0], s.hashes[1]);
        pool.checkPayees(id, s.pages[1], s.hashes[2]);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementTableSumMismatch.selector, id, s.tableSum, proven)
        );
        pool.checkPayees(id, s.pages[2], bytes32(0));
        assertEq(pool.settledBlockOf(b.txid), bytes32(0));
        assertEq(pool.totalCredited(), 0);
    }

    function test_ABogusOpeningDoesNotBlockTheHonestOne() public {
        Statement memory honest = _honest(PAGE_SIZE);
        // A griefer's list: one payee's weight raised. Anyone can prove the window's slot-side
        // sum at any beta, so its opening verifies: T' is the honest grouping's sum at the bogus
        // list's beta. Its pages then add up to something else.
        PayeeListBuilder.Payees memory inflated = _copyPayees();
        inflated.weights[4] += 1_000_000;
        Statement memory bogus = _statement(windowRoot, weightCommitment, inflated, PAGE_SIZE, 11);
        uint256 provable = StatementReference.tableSum(bogus.beta, honest.payees);
        verifier.pin(bogus.proof, [uint256(windowRoot), weightCommitment, bogus.beta, provable]);

        MinedBlock memory b = _readyBlock();
        bytes32 bogusId = _open(b, bogus.hashes[0], weightCommitment, provable, bogus.proof);
        bytes32 honestId = _openPaged(b, honest);
        assertNotEq(bogusId, honestId);
        pool.checkPayees(bogusId, bogus.pages[0], bogus.hashes[1]);
        pool.checkPayees(bogusId, bogus.pages[1], bogus.hashes[2]);
        vm.expectRevert(
            abi.encodeWithSelector(
                SettlementPool.SettlementTableSumMismatch.selector, bogusId, bogus.tableSum, provable
            )
        );
        pool.checkPayees(bogusId, bogus.pages[2], bytes32(0));

        _checkAll(honestId, honest.pages, honest.hashes);
        _creditAll(honestId, honest.pages, honest.hashes);
        (uint256[] memory amounts,,) = StatementReference.allocate(REWARD, FEE_BPS, payees.weights);
        assertEq(pool.balanceOf(payees.accounts[4]), amounts[4]);
        assertEq(pool.settledBlockOf(b.txid), b.blockHash);
    }

    function test_ASecondOpeningCannotCompleteAfterTheCoinbaseIsSettled() public {
        // The same list paged two ways has one list hash (the record chain): the second
        // opening differs by its weight commitment, and both statements are pinned valid.
        Statement memory threes = _honest(PAGE_SIZE);
        MinedBlock memory b = _readyBlock();
        bytes32 first = _openPaged(b, threes);
        Statement memory fours = _statement(windowRoot, weightCommitment + 1, payees, 4, 104);
        _pin(fours);
        bytes32 second = _openPaged(b, fours);
        pool.checkPayees(second, fours.pages[0], fours.hashes[1]);

        _checkAll(first, threes.pages, threes.hashes);
        assertEq(pool.settledBlockOf(b.txid), b.blockHash);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementAlreadySettled.selector, b.txid, b.blockHash));
        pool.checkPayees(second, fours.pages[1], bytes32(0));
        assertEq(uint8(pool.openingOf(second).stage), uint8(ISettlementPool.Stage.Checking));

        _creditAll(first, threes.pages, threes.hashes);
        assertEq(pool.totalCredited(), REWARD);
        assertEq(pool.balanceOf(feeRecipient) + _paid(), REWARD);
    }

    function test_AOneTransactionSettlementWinsOverAnUnfinishedOpening() public {
        Statement memory paged = _honest(PAGE_SIZE);
        Statement memory whole = _honest(8);
        MinedBlock memory b = _readyBlock();
        bytes32 id = _openPaged(b, paged);
        pool.checkPayees(id, paged.pages[0], paged.hashes[1]);
        _settleOne(b, whole);
        pool.checkPayees(id, paged.pages[1], paged.hashes[2]);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementAlreadySettled.selector, b.txid, b.blockHash));
        pool.checkPayees(id, paged.pages[2], bytes32(0));
        assertEq(pool.totalCredited(), REWARD);
    }

    function test_RevertWhen_UnderfundedAtTheEndOfTheCheckPassUntilTheFundsArrive() public {
        Statement memory s = _honest(PAGE_SIZE);
        (ReportingPegIn bridge, WrappedBtc paid) = _useReportingBridge();
        MinedBlock memory b = _minePoolBlock(windowRoot, REWARD);
        _confirm(CONFIRMATIONS);
        bridge.report(b.txid, REWARD);
        paid.mint(address(pool), REWARD - 1);
        bytes32 id = _openPaged(b, s);
        pool.checkPayees(id, s.pages[0], s.hashes[1]);
        pool.checkPayees(id, s.pages[1], s.hashes[2]);
        vm.expectRevert(
            abi.encodeWithSelector(SettlementPool.SettlementUnderfunded.selector, uint256(REWARD) - 1, uint256(REWARD))
        );
        pool.checkPayees(id, s.pages[2], bytes32(0));
        paid.mint(address(pool), 1);
        pool.checkPayees(id, s.pages[2], bytes32(0));
        _creditAll(id, s.pages, s.hashes);
        assertEq(pool.balanceOf(feeRecipient) + _paid(), REWARD);
    }

    // ----- scenario ---------------------------------------------------------------------------

    function _readyBlock() internal returns (MinedBlock memory) {
        return _readyBlock(windowRoot, REWARD, CONFIRMATIONS);
    }

    /// @dev The honest list paged by `pageSize`, pinned.
    function _honest(uint256 pageSize) internal returns (Statement memory s) {
        s = _statement(windowRoot, weightCommitment, payees, pageSize, 100 + pageSize);
        _pin(s);
    }

    /// @dev Opens, on a fresh ready block, a settlement for `listHash` whose (made-up) statement
    /// is pinned, T arbitrary.
    function _openPinned(bytes32 listHash, uint256 seed) internal returns (bytes32) {
        uint256[8] memory proof = _proof(seed);
        uint256 beta = StatementReference.challenge(windowRoot, weightCommitment, listHash);
        uint256 tableSum = uint256(keccak256(abi.encode("T", seed))) % PayeeList.FIELD_ORDER;
        verifier.pin(proof, [uint256(windowRoot), weightCommitment, beta, tableSum]);
        return _open(_readyBlock(), listHash, weightCommitment, tableSum, proof);
    }

    function _copyPayees() internal view returns (PayeeListBuilder.Payees memory p) {
        p.accounts = payees.accounts;
        p.weights = payees.weights;
    }

    function _firstTwo() internal view returns (PayeeListBuilder.Payees memory p) {
        p.accounts = new address[](2);
        p.weights = new uint256[](2);
        for (uint256 i; i < 2; ++i) {
            p.accounts[i] = payees.accounts[i];
            p.weights[i] = payees.weights[i];
        }
    }

    /// @dev What the payees hold in the pool.
    function _paid() internal view returns (uint256 total) {
        for (uint256 i; i < payees.accounts.length; ++i) {
            total += pool.balanceOf(payees.accounts[i]);
        }
    }

    function _wrongStage(bytes32 id, ISettlementPool.Stage stage, ISettlementPool.Stage required)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(SettlementPool.SettlementWrongStage.selector, id, stage, required);
    }

    /// @dev Replaces the pool by one paid in a token this test mints, whose bridge reports what
    /// the test says.
    function _useReportingBridge() internal returns (ReportingPegIn bridge, WrappedBtc paid) {
        paid = new WrappedBtc(address(this));
        bridge = new ReportingPegIn();
        pool = new SettlementPool(
            SettlementPool.Config({
                lightClient: lightClient,
                verifier: verifier,
                token: paid,
                pegIn: bridge,
                settlementScript: SETTLEMENT_SCRIPT,
                feeRecipient: feeRecipient,
                feeBps: FEE_BPS,
                confirmations: CONFIRMATIONS,
                windowSize: WINDOW_SIZE
            })
        );
    }
}
