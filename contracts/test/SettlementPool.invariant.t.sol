// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {DevPegIn} from "../src/DevPegIn.sol";
import {SettlementPool} from "../src/SettlementPool.sol";
import {WrappedBtc} from "../src/WrappedBtc.sol";
import {IGroth16Verifier} from "../src/interfaces/IGroth16Verifier.sol";
import {PayeeListBuilder} from "./builders/PayeeListBuilder.sol";
import {SettlementFixture} from "./builders/SettlementFixture.sol";
import {SettlementHandler} from "./handlers/SettlementHandler.sol";
import {PinnedVerifier} from "./mocks/PinnedVerifier.sol";

/// @dev Conservation of the pool's funds under random settlements (in one transaction and in
/// interleaved pages, honest and bogus), claims and replays. With
/// test/fixtures/settlement.json the handler settles with the real proof and the generated
/// verifier (and no bogus openings: nobody holds a proof for one); without it, with
/// `PinnedVerifier` pinned to synthetic statements, so the accounting is exercised before the
/// circuits land.
contract SettlementPoolInvariantTest is Test {
    SettlementHandler internal handler;
    SettlementPool internal pool;
    WrappedBtc internal token;
    DevPegIn internal pegIn;

    function setUp() public {
        SettlementHandler.Setup memory setup;
        IGroth16Verifier verifier;
        if (SettlementFixture.exists(SettlementFixture.PATH)) {
            SettlementFixture.Statement memory s = SettlementFixture.load(SettlementFixture.PATH);
            verifier = IGroth16Verifier(SettlementFixture.deployVerifier(SettlementFixture.VERIFIER_ARTIFACT));
            setup.windowRoot = s.windowRoot;
            setup.reward = s.reward;
            setup.feeBps = s.feeBps;
            setup.accounts = s.accounts;
            setup.weights = s.weights;
            setup.weightCommitment = s.weightCommitment;
            setup.pageSize = s.pageSize;
            setup.tableSum = s.publicInputs[3];
            setup.proof = s.proof;
        } else {
            verifier = new PinnedVerifier();
            PayeeListBuilder.Payees memory payees = PayeeListBuilder.synthetic(5, 0xB0B0);
            setup.windowRoot = keccak256("synthetic window") >> 8;
            setup.reward = 3_1250_0000;
            setup.feeBps = 150;
            setup.accounts = payees.accounts;
            setup.weights = payees.weights;
            setup.weightCommitment = uint256(keccak256("synthetic weights")) >> 8;
            setup.pageSize = 2;
            setup.proof[0] = 1;
            setup.pin = true;
        }
        handler = new SettlementHandler(verifier, setup);
        pool = handler.settlementPool();
        pegIn = handler.devPegIn();
        token = pegIn.token();

        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = SettlementHandler.mineAndDeliver.selector;
        selectors[1] = SettlementHandler.mineForeignBlock.selector;
        selectors[2] = SettlementHandler.settle.selector;
        selectors[3] = SettlementHandler.open.selector;
        selectors[4] = SettlementHandler.openBogus.selector;
        selectors[5] = SettlementHandler.step.selector;
        selectors[6] = SettlementHandler.step.selector; // pages are many: step twice as often
        selectors[7] = SettlementHandler.replay.selector;
        selectors[8] = SettlementHandler.claim.selector;
        selectors[9] = SettlementHandler.claimFor.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    function invariant_CreditedNeverExceedsDelivered() public view {
        assertLe(pool.totalCredited(), handler.ghostDelivered());
        assertEq(pool.totalCredited(), handler.ghostCredited());
        assertEq(token.totalSupply(), handler.ghostDelivered());
    }

    function invariant_ClaimedNeverExceedsCredited() public view {
        assertLe(pool.totalClaimed(), pool.totalCredited());
        assertEq(pool.totalClaimed(), handler.ghostClaimed());
    }

    function invariant_NoAddressReceivesMoreThanItsCredits() public view {
        for (uint256 i; i < handler.actorCount(); ++i) {
            address account = handler.actor(i);
            assertLe(token.balanceOf(account), handler.ghostCreditedTo(account));
            assertEq(token.balanceOf(account), handler.ghostClaimedBy(account));
            assertEq(pool.balanceOf(account) + token.balanceOf(account), handler.ghostCreditedTo(account));
        }
    }

    function invariant_EveryCreditIsOwedToSomeone() public view {
        // What the check passes counted and the credit pages have not yet handed out, plus
        // what every account holds or was paid, is the credited total.
        uint256 accounted = handler.ghostPending();
        for (uint256 i; i < handler.actorCount(); ++i) {
            address account = handler.actor(i);
            accounted += pool.balanceOf(account) + token.balanceOf(account);
        }
        assertEq(accounted, pool.totalCredited());
    }

    function invariant_PoolHoldsWhatItOwesAndMore() public view {
        // Everything minted went to the pool; claims are the only way out.
        assertEq(token.balanceOf(address(pool)), token.totalSupply() - pool.totalClaimed());
        assertGe(token.balanceOf(address(pool)), pool.totalCredited() - pool.totalClaimed());
    }

    function invariant_ACoinbaseSettlesOnce() public view {
        assertEq(handler.replaysAccepted(), 0);
        assertEq(handler.doubleSettlements(), 0);
    }

    function invariant_BogusOpeningsNeverComplete() public view {
        assertEq(handler.bogusCompletions(), 0);
    }

    function invariant_EveryStepHadTheExpectedOutcome() public view {
        assertEq(handler.unexpectedOutcomes(), 0);
    }

    function invariant_CoinbasesThatCannotSettleAreNeverDelivered() public view {
        assertEq(handler.foreignDeliveries(), 0);
    }
}
