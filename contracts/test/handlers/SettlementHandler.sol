// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {DevPegIn} from "../../src/DevPegIn.sol";
import {SettlementPool} from "../../src/SettlementPool.sol";
import {IGroth16Verifier} from "../../src/interfaces/IGroth16Verifier.sol";
import {Payout} from "../../src/lib/PayoutBinding.sol";
import {CoinbaseBuilder} from "../builders/CoinbaseBuilder.sol";
import {PoolScenario} from "../builders/PoolScenario.sol";

/// @title SettlementHandler
/// @notice Drives a devnet for invariant testing: mines pool blocks (and foreign ones), has the
/// peg-in deliver them, settles with the one statement it holds a proof for, claims for payees,
/// and tries replays. Inputs are bounded, never assumed; ghost totals record what should be.
contract SettlementHandler is PoolScenario {
    uint256 internal constant CONFIRMATIONS = 1;

    bytes32 internal windowRoot;
    uint64 internal reward;
    Payout[] internal payouts;
    uint256[8] internal proof;
    address[] internal actors;

    MinedBlock[] internal delivered;
    MinedBlock[] internal settled;

    uint256 public ghostDelivered;
    uint256 public ghostCredited;
    uint256 public ghostClaimed;
    uint256 public replaysAccepted;
    uint256 public foreignDeliveries;
    mapping(address account => uint256 amount) public ghostCreditedTo;
    mapping(address account => uint256 amount) public ghostClaimedBy;
    mapping(bytes4 selector => uint256 count) public calls;

    constructor(
        IGroth16Verifier verifier,
        bytes32 windowRoot_,
        uint64 reward_,
        uint256 feeBps,
        uint256 maxPayouts,
        Payout[] memory payouts_,
        uint256[8] memory proof_
    ) {
        _deploy(verifier, feeBps, CONFIRMATIONS, maxPayouts);
        windowRoot = windowRoot_;
        reward = reward_;
        proof = proof_;
        for (uint256 i; i < payouts_.length; ++i) {
            payouts.push(payouts_[i]);
            actors.push(payouts_[i].account);
        }
        actors.push(feeRecipient);
    }

    // ----- actions ----------------------------------------------------------------------------

    /// @notice A pool block for the held statement, confirmed and delivered.
    function mineAndDeliver(uint256 extraConfirmations) external {
        ++calls[this.mineAndDeliver.selector];
        MinedBlock memory b = _minePoolBlock(windowRoot, reward);
        _mineEmpty(bound(extraConfirmations, 0, 2));
        ghostDelivered += _deliver(b);
        delivered.push(b);
    }

    /// @notice A block whose coinbase pays the settlement script without a commitment: it can
    /// never settle, so the peg-in must refuse to deliver it.
    function mineForeignBlock(uint64 value) external {
        ++calls[this.mineForeignBlock.selector];
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](1);
        outputs[0] = CoinbaseBuilder.Output(uint64(bound(value, 1, 50_0000_0000)), SETTLEMENT_SCRIPT);
        MinedBlock memory b = _mine(CoinbaseBuilder.coinbase(tipHeight + 1, hex"f0f0", outputs), 1);
        try pegIn.deliver(b.header, b.coinbase, b.branch) returns (uint256 amount) {
            ghostDelivered += amount;
            ++foreignDeliveries;
        } catch {}
    }

    /// @notice Settles one of the delivered, unsettled blocks.
    function settle(uint256 index) external {
        ++calls[this.settle.selector];
        if (delivered.length == 0) return;
        index = bound(index, 0, delivered.length - 1);
        MinedBlock memory b = delivered[index];
        delivered[index] = delivered[delivered.length - 1];
        delivered.pop();

        uint256 feeBefore = pool.balanceOf(feeRecipient);
        _settle(b, payouts, proof);
        settled.push(b);
        ghostCredited += reward;
        uint256 paid;
        for (uint256 i; i < payouts.length; ++i) {
            ghostCreditedTo[payouts[i].account] += payouts[i].amount;
            paid += payouts[i].amount;
        }
        ghostCreditedTo[feeRecipient] += reward - paid;
        assertEq(pool.balanceOf(feeRecipient) - feeBefore, reward - paid);
    }

    /// @notice Tries to settle an already settled block again; counts any success.
    function replay(uint256 index) external {
        ++calls[this.replay.selector];
        if (settled.length == 0) return;
        MinedBlock memory b = settled[bound(index, 0, settled.length - 1)];
        try pool.settle(b.header, b.coinbase, b.branch, payouts, proof) {
            ++replaysAccepted;
        } catch {}
    }

    /// @notice An actor claims its balance.
    function claim(uint256 actorIndex) external {
        ++calls[this.claim.selector];
        address actor = actors[bound(actorIndex, 0, actors.length - 1)];
        uint256 owed = pool.balanceOf(actor);
        if (owed == 0) return;
        vm.prank(actor);
        uint256 amount = pool.claim();
        _recordClaim(actor, amount, owed);
    }

    /// @notice Someone claims for an actor; the actor is paid.
    function claimFor(uint256 callerSeed, uint256 actorIndex) external {
        ++calls[this.claimFor.selector];
        address actor = actors[bound(actorIndex, 0, actors.length - 1)];
        uint256 owed = pool.balanceOf(actor);
        if (owed == 0) return;
        vm.prank(address(uint160(bound(callerSeed, 1, type(uint160).max))));
        uint256 amount = pool.claimFor(actor);
        _recordClaim(actor, amount, owed);
    }

    // ----- views for the invariants -----------------------------------------------------------

    function settlementPool() external view returns (SettlementPool) {
        return pool;
    }

    function devPegIn() external view returns (DevPegIn) {
        return pegIn;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function actor(uint256 index) external view returns (address) {
        return actors[index];
    }

    function _recordClaim(address account, uint256 amount, uint256 owed) internal {
        assertEq(amount, owed);
        ghostClaimed += amount;
        ghostClaimedBy[account] += amount;
    }
}
