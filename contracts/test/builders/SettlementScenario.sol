// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {PinnedVerifier} from "../mocks/PinnedVerifier.sol";
import {PayeeListBuilder} from "./PayeeListBuilder.sol";
import {PoolScenario} from "./PoolScenario.sol";
import {StatementReference} from "./StatementReference.sol";

/// @title SettlementScenario
/// @notice A devnet (`PoolScenario`) whose verifier is `PinnedVerifier`, with settlement
/// statements built by the test: a payee list, its pages and hash chain, and beta and T from
/// `StatementReference`. Pinning a statement makes the verifier accept exactly its public
/// inputs, so a settlement goes through only if the contract computed the same beta and T.
abstract contract SettlementScenario is PoolScenario {
    /// @notice A statement and the proof the pinned verifier accepts for it.
    struct Statement {
        bytes32 windowRoot;
        uint256 weightCommitment;
        PayeeListBuilder.Payees payees;
        bytes list;
        bytes[] pages;
        /// @dev hashes[k] = h_k; hashes[0] the list hash, hashes[pages.length] = 0.
        bytes32[] hashes;
        uint256 beta;
        uint256 tableSum;
        uint256[8] proof;
    }

    PinnedVerifier internal verifier;

    /// @dev Deploys the devnet with a fresh pinned verifier.
    function _deployPinned(uint256 feeBps, uint256 confirmations) internal {
        verifier = new PinnedVerifier();
        _deploy(verifier, feeBps, confirmations);
    }

    /// @dev The statement of `payees` for `windowRoot` and X, paged by `pageSize` records, with
    /// a made-up proof from `proofSeed`; not pinned.
    function _statement(
        bytes32 windowRoot,
        uint256 weightCommitment,
        PayeeListBuilder.Payees memory payees,
        uint256 pageSize,
        uint256 proofSeed
    ) internal view returns (Statement memory s) {
        s.windowRoot = windowRoot;
        s.weightCommitment = weightCommitment;
        s.payees = payees;
        s.list = payees.accounts.length > 64 ? PayeeListBuilder.encodeLarge(payees) : PayeeListBuilder.encode(payees);
        s.pages = PayeeListBuilder.pages(s.list, pageSize);
        s.hashes = PayeeListBuilder.chain(s.pages);
        s.beta = StatementReference.challenge(windowRoot, weightCommitment, s.hashes[0]);
        s.tableSum = StatementReference.tableSum(s.beta, payees);
        s.proof = _proof(proofSeed);
    }

    /// @dev [windowRoot, X, beta, T] as the reference computes them.
    function _inputs(Statement memory s) internal pure returns (uint256[4] memory) {
        return [uint256(s.windowRoot), s.weightCommitment, s.beta, s.tableSum];
    }

    /// @dev The verifier accepts `s` from now on.
    function _pin(Statement memory s) internal {
        verifier.pin(s.proof, _inputs(s));
    }

    /// @dev Settles `b` with `s` in one transaction (the list as one page).
    function _settleOne(MinedBlock memory b, Statement memory s) internal {
        _settle(b, s.list, s.weightCommitment, s.proof);
    }

    /// @dev Opens a paged settlement of `b` with `s`.
    function _openPaged(MinedBlock memory b, Statement memory s) internal returns (bytes32) {
        return _open(b, s.hashes[0], s.weightCommitment, s.tableSum, s.proof);
    }

    /// @dev Settles `b` with `s` page by page: open, check every page, credit every page.
    function _settlePaged(MinedBlock memory b, Statement memory s) internal returns (bytes32 id) {
        id = _openPaged(b, s);
        _checkAll(id, s.pages, s.hashes);
        _creditAll(id, s.pages, s.hashes);
    }

    /// @dev A pool block committing to `windowRoot` and paying `reward`, confirmed and delivered.
    function _readyBlock(bytes32 windowRoot, uint64 reward, uint256 confirmations)
        internal
        returns (MinedBlock memory b)
    {
        b = _minePoolBlock(windowRoot, reward);
        _confirm(confirmations);
        _deliver(b);
    }
}
