// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {SettlementPool} from "../src/SettlementPool.sol";
import {IGroth16Verifier} from "../src/interfaces/IGroth16Verifier.sol";
import {Payout} from "../src/lib/PayoutBinding.sol";
import {GasMeter} from "./builders/GasMeter.sol";
import {PoolScenario} from "./builders/PoolScenario.sol";
import {SettlementFixture} from "./builders/SettlementFixture.sol";

/// @dev Full settlements with a real Groth16 proof from the circuits crate, verified by the
/// generated verifier (src/Groth16Verifier.sol). Needs test/fixtures/settlement.json (format:
/// test/fixtures/README.md); without it every test here is skipped, saying so.
contract SettlementProofTest is PoolScenario {
    uint256 internal constant CONFIRMATIONS = 2;
    /// @dev The BN254 base field modulus, to negate a G1 point.
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    IGroth16Verifier internal verifier;
    bytes32 internal windowRoot;
    uint64 internal reward;
    uint256 internal feeBps;
    Payout[] internal payouts;
    uint256[8] internal proof;
    uint256[4] internal publicInputs;

    function setUp() public {
        if (!SettlementFixture.exists(SettlementFixture.PATH)) {
            vm.skip(
                true,
                "no test/fixtures/settlement.json yet: the circuits crate writes it with src/Groth16Verifier.sol (test/fixtures/README.md)"
            );
            return;
        }
        SettlementFixture.Statement memory s = SettlementFixture.load(SettlementFixture.PATH);
        windowRoot = s.windowRoot;
        reward = s.reward;
        feeBps = s.feeBps;
        for (uint256 i; i < s.payouts.length; ++i) {
            payouts.push(s.payouts[i]);
        }
        proof = s.proof;
        publicInputs = s.publicInputs;
        verifier = IGroth16Verifier(SettlementFixture.deployVerifier());
        _deploy(verifier, feeBps, CONFIRMATIONS, s.m);
    }

    function test_FixtureInputsAreTheContractsInputs() public view {
        uint256[4] memory computed = pool.publicInputs(windowRoot, reward, feeBps, payouts);
        for (uint256 i; i < 4; ++i) {
            assertEq(computed[i], publicInputs[i], "Solidity and Rust disagree on a public input");
        }
    }

    function test_VerifierAcceptsTheFixtureProof() public view {
        assertTrue(verifier.verifyProof(proof, publicInputs));
    }

    function test_SettleWithARealProofCreditsExactlyThePayoutList() public {
        MinedBlock memory b = _readyBlock();
        _settle(b, payouts, proof);

        uint256 fee = uint256(reward) * feeBps / 10_000;
        uint256 paid;
        for (uint256 i; i < payouts.length; ++i) {
            assertEq(pool.balanceOf(payouts[i].account), payouts[i].amount);
            paid += payouts[i].amount;
        }
        assertEq(pool.balanceOf(feeRecipient), reward - paid);
        assertEq(pool.totalCredited(), reward);
        assertEq(pool.settledBlockOf(b.txid), b.blockHash);
        assertGe(fee, 0);

        for (uint256 i; i < payouts.length; ++i) {
            if (payouts[i].amount == 0) continue;
            vm.prank(payouts[i].account);
            pool.claim();
            assertEq(token.balanceOf(payouts[i].account), payouts[i].amount);
        }
    }

    function test_RevertWhen_RealProofIsWrong() public {
        MinedBlock memory b = _readyBlock();
        uint256[8] memory negated = proof;
        negated[1] = (Q - negated[1]) % Q; // -A: on the curve, not the proof
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, payouts, negated);

        uint256[8] memory offCurve = proof;
        offCurve[6] ^= 1;
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, payouts, offCurve);
    }

    function test_RevertWhen_RealProofPayoutsDifferByOneSat() public {
        MinedBlock memory b = _readyBlock();
        Payout[] memory list = payouts;
        uint256 index = _firstPositive(list);
        list[index].amount -= 1;
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _settle(b, list, proof);
    }

    function test_RevertWhen_RealProofSettlesTheSameBlockTwice() public {
        MinedBlock memory b = _readyBlock();
        _settle(b, payouts, proof);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementAlreadySettled.selector, b.txid, b.blockHash));
        _settle(b, payouts, proof);
    }

    function test_RealProofSettlesEveryBlockWithTheSameStatement() public {
        // The proof binds the window, the reward and the list, not the block: two blocks that
        // commit to the same window and pay the same reward settle with it, once each.
        _settle(_readyBlock(), payouts, proof);
        _settle(_readyBlock(), payouts, proof);
        assertEq(pool.totalCredited(), 2 * uint256(reward));
    }

    function test_Gas_VerifyProof() public {
        verifier.verifyProof(proof, publicInputs);
        vm.snapshotGasLastCall("SettlementProof", "verifyProof_execution");
    }

    function test_Gas_SettleWithRealProof() public {
        MinedBlock memory b = _readyBlock();
        _settle(b, payouts, proof);
        uint256 txGas = vm.snapshotGasLastCall("SettlementProof", "settle_real_proof_tx");
        bytes memory callData = abi.encodeCall(SettlementPool.settle, (b.header, b.coinbase, b.branch, payouts, proof));
        vm.snapshotValue("SettlementProof", "settle_real_proof_execution", GasMeter.executionGas(txGas, callData));
    }

    function _readyBlock() internal returns (MinedBlock memory b) {
        b = _minePoolBlock(windowRoot, reward);
        _confirm(CONFIRMATIONS);
        _deliver(b);
    }

    function _firstPositive(Payout[] memory list) internal pure returns (uint256) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i].amount > 0) return i;
        }
        revert("fixture: no payout with a positive amount");
    }
}

/// @dev The documented fixture format parses, and its public inputs are this contract's binding.
contract SettlementFixtureFormatTest is PoolScenario {
    function test_ExampleFixtureParsesAndBindsAsDocumented() public {
        SettlementFixture.Statement memory s = SettlementFixture.load(SettlementFixture.EXAMPLE_PATH);
        assertEq(s.n, 8);
        assertEq(s.m, 4);
        assertEq(s.payouts.length, 3);
        assertEq(s.payouts[0].account, address(0xa11ce));
        assertEq(s.payouts[2].amount, 154_687_500);
        assertEq(s.proof[7], 8);

        _deploy(IGroth16Verifier(address(1)), s.feeBps, 1, s.m);
        uint256[4] memory computed = pool.publicInputs(s.windowRoot, s.reward, s.feeBps, s.payouts);
        for (uint256 i; i < 4; ++i) {
            assertEq(computed[i], s.publicInputs[i]);
        }
        assertEq(pool.payoutHash(s.payouts), s.payoutHash);
    }
}
