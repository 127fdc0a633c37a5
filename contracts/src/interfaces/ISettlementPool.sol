// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @title ISettlementPool
/// @notice Settles the pool's Bitcoin blocks on this chain and pays miners (shared/DESIGN.md,
/// "Settlement flow"; docs/settlement.md). A block settles in one transaction (`settle`) or,
/// for a payee list too long for one, in pages (`openSettlement`, then `checkPayees` over every
/// page, then `creditPayees` over every page). The payee list is packed records of account
/// (20 bytes) ‖ weight (16 bytes, big-endian), strictly ascending by account (`PayeeList`).
interface ISettlementPool {
    /// @notice Where a paged settlement stands: `None`, no opening has this id (never opened,
    /// or finished and deleted); `Checking`, its pages are being checked against the proven
    /// table sum; `Crediting`, the check pass completed, the coinbase is settled, and the pages
    /// are being credited.
    enum Stage {
        None,
        Checking,
        Crediting
    }

    /// @notice A paged settlement in progress (`openingOf`).
    /// @param blockHash The block being settled.
    /// @param coinbaseTxid Its coinbase's txid, the settlement's key.
    /// @param windowRoot The window root from the coinbase.
    /// @param listHash h_0 of the payee list's record chain.
    /// @param beta The challenge, keccak256(windowRoot ‖ X ‖ listHash) mod r.
    /// @param tableSum T, with which the proof was verified.
    /// @param cursor The hash of the next page expected (with the hashes after it); 0 when none.
    /// @param checkedSum Checking: T summed over the pages checked so far, mod r.
    /// @param reward R, the coinbase's reward to the settlement script, in sats.
    /// @param feeBps The pool fee when the settlement was opened; the fee applied.
    /// @param stage Checking or Crediting.
    /// @param lastAccount Checking: the last account of the pages checked so far.
    /// @param totalWeight W, the sum of the weights checked so far (all of them once crediting).
    /// @param payees D, the number of records checked so far (all of them once crediting).
    /// @param paid Crediting: the amounts credited to payees so far.
    /// @param excess Crediting: what the bridge delivered above R when the check pass completed,
    /// credited to the fee recipient with the last page.
    struct Opening {
        bytes32 blockHash;
        bytes32 coinbaseTxid;
        bytes32 windowRoot;
        bytes32 listHash;
        uint256 beta;
        uint256 tableSum;
        bytes32 cursor;
        uint256 checkedSum;
        uint64 reward;
        uint16 feeBps;
        Stage stage;
        address lastAccount;
        uint160 totalWeight;
        uint32 payees;
        uint64 paid;
        uint128 excess;
    }

    /// @notice Settles one block found by the pool in one transaction: checks it by SPV, reads
    /// the window root and the reward from its coinbase, checks the payee list, verifies the
    /// proof on [windowRoot, X, beta, T] and credits every payee its share of the reward after
    /// the fee, the fee and rounding dust to the fee recipient.
    /// @param header The block's 80-byte header.
    /// @param coinbaseTx The coinbase in legacy (non-witness) serialisation.
    /// @param merkleProof The coinbase's Merkle branch (index 0), bottom up, internal byte order.
    /// @param payees The whole payee list as one page (36-byte records, ascending).
    /// @param weightCommitment X, the circuit's commitment to the window's weights (below r).
    /// @param proof The Groth16 proof `[A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]`.
    function settle(
        bytes calldata header,
        bytes calldata coinbaseTx,
        bytes32[] calldata merkleProof,
        bytes calldata payees,
        uint256 weightCommitment,
        uint256[8] calldata proof
    ) external;

    /// @notice Opens a paged settlement: checks the block by SPV and the delivery, verifies the
    /// proof on [windowRoot, X, beta, T] with beta drawn from `listHash`, and stores the
    /// opening. Anyone may open; several openings of one coinbase may coexist, and only one
    /// whose pages add up to its T can complete.
    /// @param header The block's 80-byte header.
    /// @param coinbaseTx The coinbase in legacy (non-witness) serialisation.
    /// @param merkleProof The coinbase's Merkle branch (index 0), bottom up, internal byte order.
    /// @param listHash h_0 of the payee list's record chain.
    /// @param weightCommitment X, the circuit's commitment to the window's weights (below r).
    /// @param tableSum T, the circuit's slot-side sum (below r).
    /// @param proof The Groth16 proof.
    /// @return id keccak256(abi.encode(coinbaseTxid, listHash, weightCommitment)).
    function openSettlement(
        bytes calldata header,
        bytes calldata coinbaseTx,
        bytes32[] calldata merkleProof,
        bytes32 listHash,
        uint256 weightCommitment,
        uint256 tableSum,
        uint256[8] calldata proof
    ) external returns (bytes32 id);

    /// @notice Checks the next page of an opening: its hash with `next` must be the cursor, its
    /// records must continue the list's order with weights >= 1. The last page (`next` = 0)
    /// requires the pages' table sum to equal the proven T and settles the coinbase (the funds
    /// are checked and the coinbase locked); crediting follows.
    /// @param id The opening.
    /// @param page Whole records.
    /// @param next The hash of the pages after this one (h_{k+1}); 0 for the last page.
    function checkPayees(bytes32 id, bytes calldata page, bytes32 next) external;

    /// @notice Credits the next page of a checked opening, each payee floor(net * W_j / W); the
    /// last page (`next` = 0) credits the fee, the dust and any excess delivery to the fee
    /// recipient, emits `BlockSettled` and deletes the opening.
    /// @param id The opening.
    /// @param page Whole records, the same pages as checked, in the same order.
    /// @param next The hash of the pages after this one; 0 for the last page.
    function creditPayees(bytes32 id, bytes calldata page, bytes32 next) external;

    /// @notice Pays the caller's whole balance in the token.
    /// @return amount The amount paid.
    function claim() external returns (uint256 amount);

    /// @notice Pays `account` its own whole balance; anyone may call it.
    /// @return amount The amount paid.
    function claimFor(address account) external returns (uint256 amount);

    /// @notice Credited and not yet claimed token units of `account`.
    function balanceOf(address account) external view returns (uint256);

    /// @notice The block whose settlement used the coinbase `coinbaseTxid` (0 if none).
    function settledBlockOf(bytes32 coinbaseTxid) external view returns (bytes32 blockHash);

    /// @notice The paged settlement `id` (stage None when there is none).
    function openingOf(bytes32 id) external view returns (Opening memory);
}
