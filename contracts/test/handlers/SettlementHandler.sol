// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {DevPegIn} from "../../src/DevPegIn.sol";
import {SettlementPool} from "../../src/SettlementPool.sol";
import {IGroth16Verifier} from "../../src/interfaces/IGroth16Verifier.sol";
import {ISettlementPool} from "../../src/interfaces/ISettlementPool.sol";
import {CoinbaseBuilder} from "../builders/CoinbaseBuilder.sol";
import {PayeeListBuilder} from "../builders/PayeeListBuilder.sol";
import {PoolScenario} from "../builders/PoolScenario.sol";
import {StatementReference} from "../builders/StatementReference.sol";
import {PinnedVerifier} from "../mocks/PinnedVerifier.sol";

/// @title SettlementHandler
/// @notice Drives a devnet for invariant testing: mines pool blocks (and foreign ones), has the
/// peg-in deliver them, settles them in one transaction or in pages (opening, then one page per
/// call, so that the fuzzer interleaves the steps of several openings with everything else),
/// opens bogus settlements beside the honest ones, claims for payees, and tries replays.
/// Inputs are bounded, never assumed; ghost totals record what should be.
contract SettlementHandler is PoolScenario {
    uint256 internal constant CONFIRMATIONS = 1;

    /// @notice The statement the handler settles with.
    /// @param windowRoot Every pool block commits to it.
    /// @param reward Every pool block pays it.
    /// @param feeBps The pool's fee.
    /// @param accounts The payee list's accounts, ascending.
    /// @param weights Their weights.
    /// @param weightCommitment X.
    /// @param pageSize Records per page of the paged settlements.
    /// @param tableSum T of the paged list (ignored when `pin`: computed by the reference).
    /// @param proof The proof of the paged list (and of the one-page list when it is one page).
    /// @param pin The verifier is a `PinnedVerifier`: pin the paged list, the one-page list and
    /// a bogus list, with beta and T from `StatementReference`.
    struct Setup {
        bytes32 windowRoot;
        uint64 reward;
        uint256 feeBps;
        address[] accounts;
        uint256[] weights;
        uint256 weightCommitment;
        uint256 pageSize;
        uint256 tableSum;
        uint256[8] proof;
        bool pin;
    }

    /// @dev A paged settlement the handler opened and advances page by page.
    struct Opened {
        bytes32 id;
        uint256 block;
        bool bogus;
        uint256 nextPage;
    }

    bytes32 internal windowRoot;
    uint64 internal reward;
    uint256 internal weightCommitment;
    address[] internal actors;
    uint256[] internal amounts;
    uint256 internal feeAndDust;

    bytes internal list;
    bytes[] internal pages;
    bytes32[] internal hashes;
    uint256 internal tableSum;
    uint256[8] internal proof;
    bool internal oneTransaction;
    uint256[8] internal oneTransactionProof;

    bool internal bogusEnabled;
    bytes[] internal bogusPages;
    bytes32[] internal bogusHashes;
    uint256 internal bogusTableSum;
    uint256[8] internal bogusProof;

    MinedBlock[] internal blocks;
    mapping(uint256 index => bool) internal isSettled;
    uint256[] internal delivered;
    uint256[] internal settled;
    Opened[] internal openings;

    uint256 public ghostDelivered;
    uint256 public ghostCredited;
    uint256 public ghostClaimed;
    /// @dev Credited by a completed check pass and not yet by its credit pages.
    uint256 public ghostPending;
    uint256 public replaysAccepted;
    uint256 public doubleSettlements;
    uint256 public bogusCompletions;
    /// @dev Calls that failed, or succeeded with another result, where nothing else was right.
    /// (Counted, not asserted: a handler's revert is dropped by the fuzzer.)
    uint256 public unexpectedOutcomes;
    uint256 public foreignDeliveries;
    uint256 public pagedSettlements;
    mapping(address account => uint256 amount) public ghostCreditedTo;
    mapping(address account => uint256 amount) public ghostClaimedBy;
    mapping(bytes4 selector => uint256 count) public calls;

    constructor(IGroth16Verifier verifier, Setup memory setup) {
        _deploy(verifier, setup.feeBps, CONFIRMATIONS);
        windowRoot = setup.windowRoot;
        reward = setup.reward;
        weightCommitment = setup.weightCommitment;
        PayeeListBuilder.Payees memory payees = PayeeListBuilder.Payees(setup.accounts, setup.weights);
        (uint256[] memory split, uint256 fee, uint256 dust) =
            StatementReference.allocate(setup.reward, setup.feeBps, setup.weights);
        amounts = split;
        feeAndDust = fee + dust;
        actors = setup.accounts;
        actors.push(feeRecipient);

        list = PayeeListBuilder.encode(payees);
        bytes[] memory cut = PayeeListBuilder.pages(list, setup.pageSize);
        for (uint256 k; k < cut.length; ++k) {
            pages.push(cut[k]);
        }
        hashes = PayeeListBuilder.chain(cut);
        proof = setup.proof;
        tableSum = setup.tableSum;
        oneTransaction = cut.length == 1;
        oneTransactionProof = setup.proof;
        if (setup.pin) _pinStatements(PinnedVerifier(address(verifier)), payees);
    }

    // ----- actions ----------------------------------------------------------------------------

    /// @notice A pool block for the held statement, confirmed and delivered.
    function mineAndDeliver(uint256 extraConfirmations) external {
        ++calls[this.mineAndDeliver.selector];
        MinedBlock memory b = _minePoolBlock(windowRoot, reward);
        _mineEmpty(bound(extraConfirmations, 0, 2));
        ghostDelivered += _deliver(b);
        blocks.push(b);
        delivered.push(blocks.length - 1);
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

    /// @notice Settles a delivered block in one transaction (if the list is one page or the
    /// verifier is pinned). Fails only when the block was settled meanwhile.
    function settle(uint256 index) external {
        ++calls[this.settle.selector];
        if (!oneTransaction || delivered.length == 0) return;
        uint256 blockIndex = delivered[bound(index, 0, delivered.length - 1)];
        MinedBlock memory b = blocks[blockIndex];
        try pool.settle(b.header, b.coinbase, b.branch, list, weightCommitment, oneTransactionProof) {
            _recordSettled(blockIndex);
            for (uint256 i; i < amounts.length; ++i) {
                ghostCreditedTo[actors[i]] += amounts[i];
            }
            ghostCreditedTo[feeRecipient] += feeAndDust;
        } catch (bytes memory reason) {
            _expectAlreadySettled(reason, blockIndex);
        }
    }

    /// @notice Opens an honest paged settlement of a delivered block (once per block).
    function open(uint256 index) external {
        ++calls[this.open.selector];
        if (delivered.length == 0) return;
        uint256 blockIndex = delivered[bound(index, 0, delivered.length - 1)];
        MinedBlock memory b = blocks[blockIndex];
        try pool.openSettlement(b.header, b.coinbase, b.branch, hashes[0], weightCommitment, tableSum, proof) returns (
            bytes32 id
        ) {
            openings.push(Opened(id, blockIndex, false, 0));
        } catch (bytes memory reason) {
            // Already opened, or settled meanwhile.
            if (bytes4(reason) != SettlementPool.SettlementOpeningExists.selector) {
                _expectAlreadySettled(reason, blockIndex);
            }
        }
    }

    /// @notice Opens a griefer's paged settlement of a delivered block: a list with a weight
    /// raised, and a proof that verifies (the window's sum at that list's beta).
    function openBogus(uint256 index) external {
        ++calls[this.openBogus.selector];
        if (!bogusEnabled || delivered.length == 0) return;
        uint256 blockIndex = delivered[bound(index, 0, delivered.length - 1)];
        MinedBlock memory b = blocks[blockIndex];
        try pool.openSettlement(
            b.header, b.coinbase, b.branch, bogusHashes[0], weightCommitment, bogusTableSum, bogusProof
        ) returns (
            bytes32 id
        ) {
            openings.push(Opened(id, blockIndex, true, 0));
        } catch (bytes memory reason) {
            if (bytes4(reason) != SettlementPool.SettlementOpeningExists.selector) {
                _expectAlreadySettled(reason, blockIndex);
            }
        }
    }

    /// @notice Submits the next `count` (1 to 4) pages of an opening: check pages, then once
    /// checked credit pages. An opening that can no longer complete is dropped.
    function step(uint256 index, uint256 count) external {
        ++calls[this.step.selector];
        count = bound(count, 1, 4);
        if (openings.length == 0) return;
        uint256 at = bound(index, 0, openings.length - 1);
        bytes32 id = openings[at].id;
        for (uint256 i; i < count && at < openings.length && openings[at].id == id; ++i) {
            Opened memory o = openings[at];
            ISettlementPool.Stage stage = pool.openingOf(o.id).stage;
            if (stage == ISettlementPool.Stage.Checking) _checkNext(at, o);
            else if (stage == ISettlementPool.Stage.Crediting) _creditNext(at, o);
            else break;
        }
    }

    /// @notice Tries to settle an already settled block again, both ways; counts any success.
    function replay(uint256 index) external {
        ++calls[this.replay.selector];
        if (settled.length == 0) return;
        MinedBlock memory b = blocks[settled[bound(index, 0, settled.length - 1)]];
        if (oneTransaction) {
            try pool.settle(b.header, b.coinbase, b.branch, list, weightCommitment, oneTransactionProof) {
                ++replaysAccepted;
            } catch {}
        }
        try pool.openSettlement(b.header, b.coinbase, b.branch, hashes[0], weightCommitment, tableSum, proof) {
            ++replaysAccepted;
        } catch {}
    }

    /// @notice An actor claims its balance.
    function claim(uint256 actorIndex) external {
        ++calls[this.claim.selector];
        address account = actors[bound(actorIndex, 0, actors.length - 1)];
        uint256 owed = pool.balanceOf(account);
        if (owed == 0) return;
        vm.prank(account);
        uint256 amount = pool.claim();
        _recordClaim(account, amount, owed);
    }

    /// @notice Someone claims for an actor; the actor is paid.
    function claimFor(uint256 callerSeed, uint256 actorIndex) external {
        ++calls[this.claimFor.selector];
        address account = actors[bound(actorIndex, 0, actors.length - 1)];
        uint256 owed = pool.balanceOf(account);
        if (owed == 0) return;
        vm.prank(address(uint160(bound(callerSeed, 1, type(uint160).max))));
        uint256 amount = pool.claimFor(account);
        _recordClaim(account, amount, owed);
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

    // ----- internal ---------------------------------------------------------------------------

    function _checkNext(uint256 at, Opened memory o) internal {
        bytes[] storage p = o.bogus ? bogusPages : pages;
        bytes32[] storage h = o.bogus ? bogusHashes : hashes;
        bool last = o.nextPage + 1 == p.length;
        try pool.checkPayees(o.id, p[o.nextPage], h[o.nextPage + 1]) {
            if (!last) {
                ++openings[at].nextPage;
                return;
            }
            if (o.bogus) ++bogusCompletions;
            _recordSettled(o.block);
            // The check pass credits R (no excess from DevPegIn) to the total; the pages follow.
            ghostPending += reward;
            openings[at].nextPage = 0;
        } catch (bytes memory reason) {
            // Only the last page may fail: the bogus list's sum, or the block settled meanwhile.
            if (!last) ++unexpectedOutcomes;
            if (bytes4(reason) == SettlementPool.SettlementTableSumMismatch.selector) {
                if (!o.bogus) ++unexpectedOutcomes;
            } else {
                _expectAlreadySettled(reason, o.block);
            }
            _drop(at);
        }
    }

    function _creditNext(uint256 at, Opened memory o) internal {
        if (o.bogus) return; // counted in bogusCompletions; its pages are not the honest ones
        uint256 pageSize = pages[0].length / 36;
        try pool.creditPayees(o.id, pages[o.nextPage], hashes[o.nextPage + 1]) {}
        catch {
            ++unexpectedOutcomes;
            return;
        }
        uint256 first = o.nextPage * pageSize;
        for (uint256 i = first; i < first + pages[o.nextPage].length / 36; ++i) {
            ghostCreditedTo[actors[i]] += amounts[i];
            ghostPending -= amounts[i];
        }
        if (o.nextPage + 1 < pages.length) {
            ++openings[at].nextPage;
            return;
        }
        ghostCreditedTo[feeRecipient] += feeAndDust;
        ghostPending -= feeAndDust;
        ++pagedSettlements;
        _drop(at);
    }

    function _recordSettled(uint256 blockIndex) internal {
        if (isSettled[blockIndex]) ++doubleSettlements;
        isSettled[blockIndex] = true;
        settled.push(blockIndex);
        for (uint256 i; i < delivered.length; ++i) {
            if (delivered[i] == blockIndex) {
                delivered[i] = delivered[delivered.length - 1];
                delivered.pop();
                break;
            }
        }
        ghostCredited += reward;
    }

    /// @dev A settlement step failed: only because the block is settled already.
    function _expectAlreadySettled(bytes memory reason, uint256 blockIndex) internal {
        if (bytes4(reason) != SettlementPool.SettlementAlreadySettled.selector || !isSettled[blockIndex]) {
            ++unexpectedOutcomes;
        }
    }

    function _drop(uint256 at) internal {
        openings[at] = openings[openings.length - 1];
        openings.pop();
    }

    function _recordClaim(address account, uint256 amount, uint256 owed) internal {
        if (amount != owed) ++unexpectedOutcomes;
        ghostClaimed += amount;
        ghostClaimedBy[account] += amount;
    }

    /// @dev Pins the paged list, the one-page list and a bogus list (one weight raised, with the
    /// honest list's sum at its beta, as any prover could prove).
    function _pinStatements(PinnedVerifier verifier, PayeeListBuilder.Payees memory payees) internal {
        uint256 beta = StatementReference.challenge(windowRoot, weightCommitment, hashes[0]);
        tableSum = StatementReference.tableSum(beta, payees);
        verifier.pin(proof, [uint256(windowRoot), weightCommitment, beta, tableSum]);

        bytes32 onePage = keccak256(abi.encodePacked(list, bytes32(0)));
        beta = StatementReference.challenge(windowRoot, weightCommitment, onePage);
        oneTransaction = true;
        oneTransactionProof = _proof(2);
        verifier.pin(
            oneTransactionProof,
            [uint256(windowRoot), weightCommitment, beta, StatementReference.tableSum(beta, payees)]
        );

        uint256[] memory raised = new uint256[](payees.weights.length);
        for (uint256 i; i < raised.length; ++i) {
            raised[i] = payees.weights[i];
        }
        raised[0] += 12_345;
        bytes[] memory cut = PayeeListBuilder.pages(
            PayeeListBuilder.encode(PayeeListBuilder.Payees(payees.accounts, raised)), pages[0].length / 36
        );
        for (uint256 k; k < cut.length; ++k) {
            bogusPages.push(cut[k]);
        }
        bogusHashes = PayeeListBuilder.chain(cut);
        beta = StatementReference.challenge(windowRoot, weightCommitment, bogusHashes[0]);
        bogusTableSum = StatementReference.tableSum(beta, payees);
        bogusProof = _proof(3);
        verifier.pin(bogusProof, [uint256(windowRoot), weightCommitment, beta, bogusTableSum]);
        bogusEnabled = true;
    }
}
