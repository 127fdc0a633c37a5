// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {SettlementPool} from "../src/SettlementPool.sol";
import {IGroth16Verifier} from "../src/interfaces/IGroth16Verifier.sol";
import {PayeeList} from "../src/lib/PayeeList.sol";
import {GasMeter} from "./builders/GasMeter.sol";
import {PayeeListBuilder} from "./builders/PayeeListBuilder.sol";
import {PoolScenario} from "./builders/PoolScenario.sol";
import {SettlementFixture} from "./builders/SettlementFixture.sol";
import {StatementReference} from "./builders/StatementReference.sol";
import {PinnedVerifier} from "./mocks/PinnedVerifier.sol";

/// @dev Full settlements with a real Groth16 proof from the circuits crate, verified by the
/// generated verifier, for one fixture file (format: test/fixtures/README.md). A list of one
/// page settles with `settle`, a longer one page by page. Without the file every test here is
/// skipped, saying so.
abstract contract SettlementProofBase is PoolScenario {
    uint256 internal constant CONFIRMATIONS = 2;
    /// @dev The BN254 base field modulus, to negate a G1 point.
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    IGroth16Verifier internal verifier;
    SettlementFixture.Statement internal fixture;
    bytes internal list;
    bytes[] internal pages;
    bytes32[] internal hashes;

    /// @dev The fixture file, the deployment of its verifier, the name in gas snapshots, and why
    /// the tests skip while the file is absent.
    function _fixturePath() internal pure virtual returns (string memory);
    function _deployVerifier() internal virtual returns (address);
    function _label() internal pure virtual returns (string memory);
    function _skipReason() internal pure virtual returns (string memory);

    function setUp() public {
        if (!SettlementFixture.exists(_fixturePath())) {
            vm.skip(true, _skipReason());
            return;
        }
        fixture = SettlementFixture.load(_fixturePath());
        list = PayeeListBuilder.encodeLarge(PayeeListBuilder.Payees(fixture.accounts, fixture.weights));
        bytes[] memory cut = PayeeListBuilder.pages(list, fixture.pageSize);
        for (uint256 k; k < cut.length; ++k) {
            pages.push(cut[k]);
        }
        hashes = PayeeListBuilder.chain(cut);
        verifier = IGroth16Verifier(_deployVerifier());
        _deploy(verifier, fixture.feeBps, CONFIRMATIONS);
    }

    // ----- the statement ----------------------------------------------------------------------

    function test_FixtureStatementIsTheContracts() public view {
        // The list hash: the fixture's, the test's chain of its pages, the contract's.
        assertEq(hashes[0], fixture.listHash, "the fixture's list hash is not its records' chain");
        bytes32 next;
        for (uint256 k = pages.length; k > 0; --k) {
            next = pool.pageHash(pages[k - 1], next);
        }
        assertEq(next, fixture.listHash, "Solidity and Rust disagree on the list hash");
        // beta and T.
        uint256 beta = pool.computeChallenge(fixture.windowRoot, fixture.weightCommitment, fixture.listHash);
        uint256 tableSum;
        for (uint256 k; k < pages.length; ++k) {
            tableSum = addmod(tableSum, pool.computeTableSum(beta, pages[k]), PayeeList.FIELD_ORDER);
        }
        assertEq(fixture.publicInputs[0], uint256(fixture.windowRoot), "publicInputs[0] is not the root");
        assertEq(fixture.publicInputs[1], fixture.weightCommitment, "publicInputs[1] is not X");
        assertEq(fixture.publicInputs[2], beta, "Solidity and Rust disagree on beta");
        assertEq(fixture.publicInputs[3], tableSum, "Solidity and Rust disagree on T");
    }

    function test_FixtureAmountsAreTheAllocation() public view {
        (uint256[] memory amounts,, uint256 dust) =
            StatementReference.allocate(fixture.reward, fixture.feeBps, fixture.weights);
        for (uint256 i; i < amounts.length; ++i) {
            assertEq(fixture.amounts[i], amounts[i], "share_verifier::allocate and DESIGN item 8 disagree");
        }
        assertEq(fixture.dust, dust);
    }

    function test_VerifierAcceptsTheFixtureProof() public view {
        assertTrue(verifier.verifyProof(fixture.proof, fixture.publicInputs));
    }

    // ----- settlement -------------------------------------------------------------------------

    function test_SettleWithARealProofCreditsTheFixtureAmounts() public {
        MinedBlock memory b = _readyBlock();
        uint256 fee = uint256(fixture.reward) * fixture.feeBps / 10_000;
        vm.recordLogs();
        _settleFixture(b, fixture.proof);
        // One BlockSettled, from the last transaction of the settlement, with the fixture's
        // statement and allocation.
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 settledEvents;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(pool) || logs[i].topics[0] != SettlementPool.BlockSettled.selector) {
                continue;
            }
            ++settledEvents;
            assertEq(logs[i].topics[1], b.blockHash);
            assertEq(
                logs[i].data,
                abi.encode(fixture.windowRoot, uint256(fixture.reward), fee, fixture.dust, fixture.listHash)
            );
        }
        assertEq(settledEvents, 1);

        for (uint256 i; i < fixture.accounts.length; ++i) {
            assertEq(pool.balanceOf(fixture.accounts[i]), fixture.amounts[i]);
        }
        assertEq(pool.balanceOf(feeRecipient), fee + fixture.dust);
        assertEq(pool.totalCredited(), fixture.reward);
        assertEq(pool.settledBlockOf(b.txid), b.blockHash);

        for (uint256 i; i < fixture.accounts.length && i < 8; ++i) {
            if (fixture.amounts[i] == 0) continue;
            vm.prank(fixture.accounts[i]);
            pool.claim();
            assertEq(token.balanceOf(fixture.accounts[i]), fixture.amounts[i]);
        }
    }

    function test_RevertWhen_RealProofIsWrong() public {
        MinedBlock memory b = _readyBlock();
        uint256[8] memory negated = fixture.proof;
        negated[1] = (Q - negated[1]) % Q; // -A: on the curve, not the proof
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _firstStep(b, negated);

        uint256[8] memory offCurve = fixture.proof;
        offCurve[6] ^= 1;
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        _firstStep(b, offCurve);
    }

    function test_RevertWhen_RealProofWeightDiffersByOne() public {
        if (fixture.accounts.length == 0) return; // nothing to change: an empty list
        MinedBlock memory b = _readyBlock();
        uint256[] memory weights = new uint256[](fixture.weights.length);
        for (uint256 i; i < weights.length; ++i) {
            weights[i] = fixture.weights[i];
        }
        weights[0] += 1;
        bytes memory changed = PayeeListBuilder.encodeLarge(PayeeListBuilder.Payees(fixture.accounts, weights));
        bytes[] memory changedPages = PayeeListBuilder.pages(changed, fixture.pageSize);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementInvalidProof.selector, b.blockHash));
        if (changedPages.length == 1) {
            _settle(b, changed, fixture.weightCommitment, fixture.proof);
        } else {
            _open(
                b,
                PayeeListBuilder.chain(changedPages)[0],
                fixture.weightCommitment,
                fixture.publicInputs[3],
                fixture.proof
            );
        }
    }

    function test_RevertWhen_RealProofSettlesTheSameBlockTwice() public {
        MinedBlock memory b = _readyBlock();
        _settleFixture(b, fixture.proof);
        vm.expectRevert(abi.encodeWithSelector(SettlementPool.SettlementAlreadySettled.selector, b.txid, b.blockHash));
        _firstStep(b, fixture.proof);
    }

    function test_RealProofSettlesEveryBlockWithTheSameStatement() public {
        // The proof binds the window and the list, not the block: two blocks that commit to the
        // same window settle with it, once each.
        _settleFixture(_readyBlock(), fixture.proof);
        _settleFixture(_readyBlock(), fixture.proof);
        assertEq(pool.totalCredited(), 2 * uint256(fixture.reward));
    }

    // ----- gas --------------------------------------------------------------------------------

    function test_Gas_VerifyProof() public {
        verifier.verifyProof(fixture.proof, fixture.publicInputs);
        vm.snapshotGasLastCall("SettlementProof", string.concat(_label(), "_verifyProof_execution"));
    }

    function test_Gas_SettleWithRealProof() public {
        MinedBlock memory b = _readyBlock();
        if (pages.length == 1) {
            _settle(b, list, fixture.weightCommitment, fixture.proof);
            uint256 txGas = vm.snapshotGasLastCall("SettlementProof", string.concat(_label(), "_settle_tx"));
            bytes memory callData = abi.encodeCall(
                SettlementPool.settle, (b.header, b.coinbase, b.branch, list, fixture.weightCommitment, fixture.proof)
            );
            vm.snapshotValue(
                "SettlementProof", string.concat(_label(), "_settle_execution"), GasMeter.executionGas(txGas, callData)
            );
        } else {
            uint256 total;
            bytes32 id = _open(b, hashes[0], fixture.weightCommitment, fixture.publicInputs[3], fixture.proof);
            total += vm.lastCallGas().gasTotalUsed;
            for (uint256 k; k < pages.length; ++k) {
                pool.checkPayees(id, pages[k], hashes[k + 1]);
                total += vm.lastCallGas().gasTotalUsed;
            }
            for (uint256 k; k < pages.length; ++k) {
                pool.creditPayees(id, pages[k], hashes[k + 1]);
                total += vm.lastCallGas().gasTotalUsed;
            }
            vm.snapshotValue("SettlementProof", string.concat(_label(), "_paged_total_tx"), total);
        }
    }

    // ----- scenario ---------------------------------------------------------------------------

    function _readyBlock() internal returns (MinedBlock memory b) {
        b = _minePoolBlock(fixture.windowRoot, fixture.reward);
        _confirm(CONFIRMATIONS);
        _deliver(b);
    }

    /// @dev Settles `b` with the fixture's list and `proof`: in one transaction when the list is
    /// one page, else opening, checking and crediting page by page.
    function _settleFixture(MinedBlock memory b, uint256[8] memory proof) internal {
        bytes32 id = _firstStep(b, proof);
        if (pages.length == 1) return;
        _checkAll(id, pages, hashes);
        _creditAll(id, pages, hashes);
    }

    /// @dev The step that verifies the proof: `settle` for a one-page list, else the opening
    /// (returns its id).
    function _firstStep(MinedBlock memory b, uint256[8] memory proof) internal returns (bytes32 id) {
        if (pages.length == 1) _settle(b, list, fixture.weightCommitment, proof);
        else id = _open(b, hashes[0], fixture.weightCommitment, fixture.publicInputs[3], proof);
    }
}

/// @dev The committed key's fixture (src/Groth16Verifier.sol).
contract SettlementProofTest is SettlementProofBase {
    function _fixturePath() internal pure override returns (string memory) {
        return SettlementFixture.PATH;
    }

    function _deployVerifier() internal override returns (address) {
        return SettlementFixture.deployVerifier(SettlementFixture.VERIFIER_ARTIFACT);
    }

    function _label() internal pure override returns (string memory) {
        return "committed_key";
    }

    function _skipReason() internal pure override returns (string memory) {
        return "no test/fixtures/settlement.json (statement v2) yet: the circuits crate writes it with src/Groth16Verifier.sol (test/fixtures/README.md)";
    }
}

/// @dev The N = 4096 key's fixtures, one per list size D (test/fixtures/README.md).
abstract contract SettlementProofN4096Base is SettlementProofBase {
    function _payees() internal pure virtual returns (string memory);

    function _fixturePath() internal pure override returns (string memory) {
        return string.concat(SettlementFixture.N4096_DIRECTORY, "settlement-d", _payees(), ".json");
    }

    function _deployVerifier() internal override returns (address) {
        return SettlementFixture.deployN4096Verifier();
    }

    function _label() internal pure override returns (string memory) {
        return string.concat("n4096_d", _payees());
    }

    function _skipReason() internal pure override returns (string memory) {
        return string.concat(
            "no ",
            _fixturePath(),
            " yet: the circuits crate writes the N = 4096 fixtures with ",
            SettlementFixture.N4096_VERIFIER_SOURCE,
            " (test/fixtures/README.md)"
        );
    }
}

contract SettlementProofN4096D1Test is SettlementProofN4096Base {
    function _payees() internal pure override returns (string memory) {
        return "1";
    }
}

contract SettlementProofN4096D16Test is SettlementProofN4096Base {
    function _payees() internal pure override returns (string memory) {
        return "16";
    }
}

contract SettlementProofN4096D256Test is SettlementProofN4096Base {
    function _payees() internal pure override returns (string memory) {
        return "256";
    }
}

contract SettlementProofN4096D4096Test is SettlementProofN4096Base {
    function _payees() internal pure override returns (string memory) {
        return "4096";
    }
}

/// @dev The documented fixture format parses, and its statement is this contract's: the
/// example's list hash, beta, T, amounts and dust were computed apart (Python and cast,
/// test/fixtures/README.md), a cross-language vector for the Rust side too.
contract SettlementFixtureFormatTest is PoolScenario {
    function test_ExampleFixtureIsTheContractsStatementAndAllocation() public {
        SettlementFixture.Statement memory s = SettlementFixture.load(SettlementFixture.EXAMPLE_PATH);
        assertEq(s.slots, 16);
        assertEq(s.pageSize, 2);
        assertEq(s.accounts.length, 5);
        assertEq(s.proof[7], 8);

        PinnedVerifier pinned = new PinnedVerifier();
        _deploy(pinned, s.feeBps, 1);
        bytes[] memory cut =
            PayeeListBuilder.pages(PayeeListBuilder.encode(PayeeListBuilder.Payees(s.accounts, s.weights)), s.pageSize);
        assertEq(cut.length, 3);
        bytes32 next;
        for (uint256 k = cut.length; k > 0; --k) {
            next = pool.pageHash(cut[k - 1], next);
        }
        assertEq(next, s.listHash);
        uint256 beta = pool.computeChallenge(s.windowRoot, s.weightCommitment, s.listHash);
        assertEq(beta, s.publicInputs[2]);
        uint256 tableSum;
        for (uint256 k; k < cut.length; ++k) {
            tableSum = addmod(tableSum, pool.computeTableSum(beta, cut[k]), PayeeList.FIELD_ORDER);
        }
        assertEq(tableSum, s.publicInputs[3]);

        // Settled page by page against exactly these inputs, it credits exactly these amounts.
        pinned.pin(s.proof, s.publicInputs);
        MinedBlock memory b = _minePoolBlock(s.windowRoot, s.reward);
        _deliver(b);
        bytes32[] memory chain = PayeeListBuilder.chain(cut);
        bytes32 id = _open(b, s.listHash, s.weightCommitment, s.publicInputs[3], s.proof);
        _checkAll(id, cut, chain);
        _creditAll(id, cut, chain);
        for (uint256 i; i < s.accounts.length; ++i) {
            assertEq(pool.balanceOf(s.accounts[i]), s.amounts[i]);
        }
        assertEq(pool.balanceOf(feeRecipient), uint256(s.reward) * s.feeBps / 10_000 + s.dust);
    }
}
