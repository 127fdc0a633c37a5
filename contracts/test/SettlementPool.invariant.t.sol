// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {DevPegIn} from "../src/DevPegIn.sol";
import {SettlementPool} from "../src/SettlementPool.sol";
import {WrappedBtc} from "../src/WrappedBtc.sol";
import {IGroth16Verifier} from "../src/interfaces/IGroth16Verifier.sol";
import {Payout} from "../src/lib/PayoutBinding.sol";
import {SettlementFixture} from "./builders/SettlementFixture.sol";
import {SettlementHandler} from "./handlers/SettlementHandler.sol";
import {PinnedVerifier} from "./mocks/PinnedVerifier.sol";

/// @dev Conservation of the pool's funds under random settlements, claims and replays.
/// With test/fixtures/settlement.json the handler settles with the real proof and the
/// generated verifier; without it, with `PinnedVerifier` pinned to a synthetic statement
/// (it accepts that statement only), so the accounting is exercised before the circuits land.
contract SettlementPoolInvariantTest is Test {
    SettlementHandler internal handler;
    SettlementPool internal pool;
    WrappedBtc internal token;
    DevPegIn internal pegIn;

    function setUp() public {
        if (SettlementFixture.exists(SettlementFixture.PATH)) {
            SettlementFixture.Statement memory s = SettlementFixture.load(SettlementFixture.PATH);
            IGroth16Verifier verifier = IGroth16Verifier(SettlementFixture.deployVerifier());
            handler = new SettlementHandler(verifier, s.windowRoot, s.reward, s.feeBps, s.m, s.payouts, s.proof);
        } else {
            PinnedVerifier verifier = new PinnedVerifier();
            bytes32 root = keccak256("synthetic window") >> 8;
            uint64 reward = 3_1250_0000;
            uint256 feeBps = 150;
            Payout[] memory list = new Payout[](5);
            uint256 net = reward - reward * feeBps / 10_000;
            for (uint256 i; i < list.length; ++i) {
                list[i] = Payout({account: address(uint160(0xB0B0 + i)), amount: uint64(net * (i + 1) / 17)});
            }
            uint256[8] memory proof;
            proof[0] = 1;
            handler = new SettlementHandler(verifier, root, reward, feeBps, 8, list, proof);
            verifier.pin(proof, handler.settlementPool().publicInputs(root, reward, feeBps, list));
        }
        pool = handler.settlementPool();
        pegIn = handler.devPegIn();
        token = pegIn.token();

        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = SettlementHandler.mineAndDeliver.selector;
        selectors[1] = SettlementHandler.mineForeignBlock.selector;
        selectors[2] = SettlementHandler.settle.selector;
        selectors[3] = SettlementHandler.replay.selector;
        selectors[4] = SettlementHandler.claim.selector;
        selectors[5] = SettlementHandler.claimFor.selector;
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

    function invariant_PoolHoldsWhatItOwesAndMore() public view {
        // Everything minted went to the pool; claims are the only way out.
        assertEq(token.balanceOf(address(pool)), token.totalSupply() - pool.totalClaimed());
        assertGe(token.balanceOf(address(pool)), pool.totalCredited() - pool.totalClaimed());
    }

    function invariant_ReplaysNeverSettle() public view {
        assertEq(handler.replaysAccepted(), 0);
    }

    function invariant_CoinbasesThatCannotSettleAreNeverDelivered() public view {
        assertEq(handler.foreignDeliveries(), 0);
    }
}
