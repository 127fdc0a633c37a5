// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IBtcLightClient} from "./interfaces/IBtcLightClient.sol";
import {IGroth16Verifier} from "./interfaces/IGroth16Verifier.sol";
import {IPegIn} from "./interfaces/IPegIn.sol";
import {ISettlementPool} from "./interfaces/ISettlementPool.sol";
import {BitcoinSpv} from "./lib/BitcoinSpv.sol";
import {BitcoinTx} from "./lib/BitcoinTx.sol";
import {PayeeList} from "./lib/PayeeList.sol";

/// @title SettlementPool
/// @notice The non-custodial end of the pool. For each block the pool finds, anyone (in
/// practice the node) settles it: the contract checks the block through the Bitcoin light
/// client, reads the window root and the reward R from the coinbase, checks that the bridge
/// delivered R for that coinbase, and verifies a Groth16 proof that the payee list it is handed
/// (every distinct address of the window with its total weight, `PayeeList`) is the grouping of
/// the window committed in the coinbase. It then splits R itself (DESIGN item 8): the fee to the
/// fee recipient, floor(net * W_j / W) to each payee, the rounding dust to the fee recipient.
/// Miners then `claim` with their own wallet.
///
/// A list that fits one transaction settles with `settle`. A longer one (the node pages at 512
/// records) settles in pages: `openSettlement` verifies the proof against the list's hash
/// chain, `checkPayees` walks the pages and compares their table sum with the proven one, which
/// settles the coinbase, and `creditPayees` walks them again to credit. Anyone may submit any
/// step; several openings of one coinbase may coexist, so a bogus opening never blocks the
/// honest one, and the first whose check pass completes settles the coinbase.
/// @dev Nobody can move credited funds: there is no owner, and the only privileged call is
/// `lowerFee`, by which the fee recipient may lower (never raise) the fee. Settlements are
/// keyed by coinbase txid, the unit in which the bridge delivers funds, so neither the same
/// block nor another block carrying the same coinbase can be settled twice. Proof bytes never
/// key anything (Groth16 proofs can be re-randomised).
contract SettlementPool is ISettlementPool, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------

    /// @notice Deployment parameters.
    /// @param lightClient The Bitcoin light client that says which blocks are confirmed.
    /// @param verifier The Groth16 verifier generated for the key (window size N).
    /// @param token The 8-decimal token the bridge delivers (1 unit = 1 sat).
    /// @param pegIn The bridge that reports what it delivered per coinbase.
    /// @param settlementScript The scriptPubKey the coinbase's reward outputs pay.
    /// @param feeRecipient Receives the fee and the rounding dust; may lower the fee.
    /// @param feeBps The pool fee in basis points (at most 10,000).
    /// @param confirmations Confirmations a block needs before settlement (>= 1).
    /// @param windowSize N, the number of shares in a window (the key's N; informational).
    struct Config {
        IBtcLightClient lightClient;
        IGroth16Verifier verifier;
        IERC20 token;
        IPegIn pegIn;
        bytes settlementScript;
        address feeRecipient;
        uint256 feeBps;
        uint256 confirmations;
        uint256 windowSize;
    }

    /// @dev What steps (1) to (4) establish about the block and its coinbase.
    struct ProvenCoinbase {
        bytes32 blockHash;
        bytes32 txid;
        bytes32 windowRoot;
        uint256 reward;
    }

    // ---------------------------------------------------------------------------------------
    // Constants
    // ---------------------------------------------------------------------------------------

    uint256 private constant _BPS = 10_000;

    // ---------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------

    /// @notice A deployment parameter is out of range; `parameter` names it.
    error SettlementInvalidConfig(string parameter);

    /// @notice The header is not 80 bytes.
    error SettlementBadHeaderLength(uint256 length);

    /// @notice The coinbase is 64 bytes and could pass for a Merkle inner node.
    error SettlementAmbiguousCoinbase();

    /// @notice The block is not in the light client's best chain at the coinbase's height.
    error SettlementBlockNotInBestChain(bytes32 blockHash, uint256 height);

    /// @notice The block has `have` confirmations; settlement needs `need`.
    error SettlementNotConfirmed(bytes32 blockHash, uint256 have, uint256 need);

    /// @notice The coinbase's Merkle branch does not lead to the header's Merkle root.
    error SettlementCoinbaseNotInBlock(bytes32 blockHash, bytes32 coinbaseTxid);

    /// @notice The coinbase has no window-root commitment output.
    error SettlementCommitmentMissing(bytes32 coinbaseTxid);

    /// @notice The coinbase has `count` commitment outputs; exactly one is allowed.
    error SettlementCommitmentDuplicated(bytes32 coinbaseTxid, uint256 count);

    /// @notice The coinbase's one commitment holds `windowRoot`, which is not below the BN254
    /// scalar field order r: no window has that root.
    error SettlementCommitmentRootNotInField(bytes32 coinbaseTxid, bytes32 windowRoot);

    /// @notice No coinbase output pays the settlement script.
    error SettlementNoReward(bytes32 coinbaseTxid);

    /// @notice The bridge has delivered `delivered` for the coinbase; the reward is `reward`.
    error SettlementFundsNotDelivered(bytes32 coinbaseTxid, uint256 delivered, uint256 reward);

    /// @notice The contract holds `balance` tokens but would owe `owed` after this settlement.
    error SettlementUnderfunded(uint256 balance, uint256 owed);

    /// @notice The coinbase was already settled, in block `settledBlock`.
    error SettlementAlreadySettled(bytes32 coinbaseTxid, bytes32 settledBlock);

    /// @notice The weight commitment X is not below r: no circuit computes it.
    error SettlementWeightCommitmentNotInField(uint256 weightCommitment);

    /// @notice The table sum T given to `openSettlement` is not below r: no list adds up to it.
    error SettlementTableSumNotInField(uint256 tableSum);

    /// @notice The verifier rejected the proof for this block's statement.
    error SettlementInvalidProof(bytes32 blockHash);

    /// @notice An opening with this id exists already (same coinbase, list hash and X).
    error SettlementOpeningExists(bytes32 id);

    /// @notice No opening has this id: never opened, or already finished.
    error SettlementUnknownOpening(bytes32 id);

    /// @notice The opening `id` is at stage `stage`; this step needs `required`.
    error SettlementWrongStage(bytes32 id, Stage stage, Stage required);

    /// @notice keccak256(page ‖ next) is `got`; the opening `id` expects the page hashing to
    /// `expected` next.
    error SettlementWrongPage(bytes32 id, bytes32 expected, bytes32 got);

    /// @notice An empty page in a list that is not empty (only the empty list has one, alone).
    error SettlementEmptyPage(bytes32 id);

    /// @notice The opening's pages add up to the table sum `checked`; the proof was verified
    /// with `proven`: the list is not the window's grouping.
    error SettlementTableSumMismatch(bytes32 id, uint256 checked, uint256 proven);

    /// @notice `account` has nothing to claim.
    error SettlementNothingToClaim(address account);

    /// @notice Only the fee recipient may call this; `caller` is not it.
    error SettlementUnauthorized(address caller);

    /// @notice The fee may only go down: `newFeeBps` is not below `feeBps`.
    error SettlementFeeNotLowered(uint256 feeBps, uint256 newFeeBps);

    // ---------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------

    /// @notice A block was settled: `reward` credited as the payees' shares plus `fee + dust`
    /// to the fee recipient. `listHash` is the payee list's page-chain hash (h_0), which the
    /// calldata of `settle` or of the `creditPayees` pages reproduces.
    event BlockSettled(
        bytes32 indexed blockHash, bytes32 windowRoot, uint256 reward, uint256 fee, uint256 dust, bytes32 listHash
    );

    /// @notice The bridge delivered `excess` more than the reward for the coinbase
    /// `coinbaseTxid`; it was credited to the fee recipient with the block's settlement.
    event ExcessDeliveryCredited(bytes32 indexed coinbaseTxid, address indexed feeRecipient, uint256 excess);

    /// @notice A paged settlement `id` of block `blockHash` was opened for the list `listHash`.
    event SettlementOpened(bytes32 indexed id, bytes32 indexed coinbaseTxid, bytes32 blockHash, bytes32 listHash);

    /// @notice The check pass of opening `id` completed: its `payees` records of total weight
    /// `totalWeight` add up to the proven table sum, and the coinbase is settled by it.
    event SettlementChecked(bytes32 indexed id, bytes32 indexed coinbaseTxid, uint256 payees, uint256 totalWeight);

    /// @notice `amount` was paid to `account`.
    event Claimed(address indexed account, uint256 amount);

    /// @notice The fee went down from `oldFeeBps` to `newFeeBps`.
    event FeeLowered(uint256 oldFeeBps, uint256 newFeeBps);

    // ---------------------------------------------------------------------------------------
    // Immutables
    // ---------------------------------------------------------------------------------------

    IBtcLightClient private immutable _lightClient;
    IGroth16Verifier private immutable _verifier;
    IERC20 private immutable _token;
    IPegIn private immutable _pegIn;
    bytes32 private immutable _scriptHash;
    uint256 private immutable _scriptLength;
    address private immutable _feeRecipient;
    uint256 private immutable _confirmations;
    uint256 private immutable _windowSize;

    // ---------------------------------------------------------------------------------------
    // Storage
    // ---------------------------------------------------------------------------------------

    /// @dev Credited, unclaimed token units per account.
    mapping(address account => uint256 amount) private _balances;

    /// @dev Coinbase txid => the block whose settlement consumed its delivered funds.
    mapping(bytes32 coinbaseTxid => bytes32 blockHash) private _settledBlockOf;

    /// @dev Paged settlements in progress, by id; deleted when their last page is credited.
    mapping(bytes32 id => Opening) private _openings;

    /// @dev One word that settlements and `claim` read and write anyway: bits 0..15 the current
    /// fee in bps (only ever lowered), 16..135 the total credited, 136..255 the total claimed
    /// (2^120 sats is far above the 2.1e15 that exist).
    uint256 private _ledger;

    /// @dev The settlement scriptPubKey, for readers; settlements compare its hash.
    bytes private _settlementScript;

    // ---------------------------------------------------------------------------------------
    // Constructor
    // ---------------------------------------------------------------------------------------

    /// @param config See `Config`.
    constructor(Config memory config) {
        if (address(config.lightClient) == address(0)) revert SettlementInvalidConfig("lightClient");
        if (address(config.verifier) == address(0)) revert SettlementInvalidConfig("verifier");
        if (address(config.token) == address(0)) revert SettlementInvalidConfig("token");
        if (address(config.pegIn) == address(0)) revert SettlementInvalidConfig("pegIn");
        if (config.settlementScript.length == 0) revert SettlementInvalidConfig("settlementScript");
        if (config.feeRecipient == address(0)) revert SettlementInvalidConfig("feeRecipient");
        if (config.feeBps > _BPS) revert SettlementInvalidConfig("feeBps");
        if (config.confirmations == 0) revert SettlementInvalidConfig("confirmations");
        if (config.windowSize == 0) revert SettlementInvalidConfig("windowSize");

        _lightClient = config.lightClient;
        _verifier = config.verifier;
        _token = config.token;
        _pegIn = config.pegIn;
        _scriptHash = keccak256(config.settlementScript);
        _scriptLength = config.settlementScript.length;
        _feeRecipient = config.feeRecipient;
        _confirmations = config.confirmations;
        _windowSize = config.windowSize;
        _settlementScript = config.settlementScript;
        _ledger = config.feeBps;
    }

    // ---------------------------------------------------------------------------------------
    // External: settlement in one transaction
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc ISettlementPool
    /// @dev Checks, in this order: the input shapes (80-byte header, no 64-byte coinbase, a
    /// coinbase with a BIP 34 height); (1) the block is in the best chain with enough
    /// confirmations; (2) the coinbase is in the header; (3) exactly one commitment (an output
    /// whose script is exactly the 39-byte commitment script), its root below r; (4) R > 0;
    /// (5) R delivered by the bridge; (6) not settled before, and the contract's token balance
    /// covers all it owes with what was delivered; (7) X below r, the payee list's records
    /// (`PayeeList.check`), from which beta and T; (8) the proof on [root, X, beta, T]. Then
    /// credits and emits `BlockSettled`; a delivery above R is credited to the fee recipient
    /// (`ExcessDeliveryCredited`), so that every delivered unit of a settled coinbase is owed to
    /// someone (docs/settlement.md, "Where the funds go").
    function settle(
        bytes calldata header,
        bytes calldata coinbaseTx,
        bytes32[] calldata merkleProof,
        bytes calldata payees,
        uint256 weightCommitment,
        uint256[8] calldata proof
    ) external nonReentrant {
        // (1) to (4).
        ProvenCoinbase memory proven = _proveCoinbase(header, coinbaseTx, merkleProof);
        // (5) and (6).
        (uint256 ledger, uint256 excess) = _checkFunds(proven.txid, proven.reward);
        // (7) and (8).
        (bytes32 listHash, uint256 totalWeight) = _verifyOnePage(proven, payees, weightCommitment, proof);

        _settledBlockOf[proven.txid] = proven.blockHash;
        // Cannot overflow the 120-bit field: every credit is backed by delivered tokens (the
        // solvency check), and no token supply reaches 2^120.
        _ledger = ledger + ((proven.reward + excess) << 16);
        uint256 fee = proven.reward * uint16(ledger) / _BPS;
        uint256 net = proven.reward - fee;
        uint256 paid = _creditPage(payees, net, totalWeight);
        _creditFeeRecipient(proven, fee, net - paid, excess, listHash);
    }

    // ---------------------------------------------------------------------------------------
    // External: settlement in pages
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc ISettlementPool
    /// @dev Checks the input shapes and steps (1) to (5) as `settle` does, that the coinbase is
    /// not settled yet, that no opening has this id, X and T below r, and the proof on
    /// [root, X, beta, T] with beta from `listHash`. The solvency check and the lock on the
    /// coinbase wait for the end of the check pass, so that an opening that never completes
    /// holds nothing.
    function openSettlement(
        bytes calldata header,
        bytes calldata coinbaseTx,
        bytes32[] calldata merkleProof,
        bytes32 listHash,
        uint256 weightCommitment,
        uint256 tableSum,
        uint256[8] calldata proof
    ) external nonReentrant returns (bytes32 id) {
        ProvenCoinbase memory proven = _proveCoinbase(header, coinbaseTx, merkleProof);
        _checkDeliveredAndUnsettled(proven.txid, proven.reward);
        id = openingId(proven.txid, listHash, weightCommitment);
        if (_openings[id].stage != Stage.None) revert SettlementOpeningExists(id);
        if (weightCommitment >= PayeeList.FIELD_ORDER) revert SettlementWeightCommitmentNotInField(weightCommitment);
        if (tableSum >= PayeeList.FIELD_ORDER) revert SettlementTableSumNotInField(tableSum);
        uint256 beta = PayeeList.challenge(proven.windowRoot, weightCommitment, listHash);
        _verifyProof(proven, weightCommitment, beta, tableSum, proof);

        Opening storage opening = _openings[id];
        opening.blockHash = proven.blockHash;
        opening.coinbaseTxid = proven.txid;
        opening.windowRoot = proven.windowRoot;
        opening.listHash = listHash;
        opening.beta = beta;
        opening.tableSum = tableSum;
        opening.cursor = listHash;
        // R is at most 21e14 sats (BitcoinTx checks MAX_MONEY), below 2^64; the fee is below
        // 2^16 (at most 10,000).
        opening.reward = uint64(proven.reward);
        opening.feeBps = uint16(_ledger);
        opening.stage = Stage.Checking;
        emit SettlementOpened(id, proven.txid, proven.blockHash, listHash);
    }

    /// @inheritdoc ISettlementPool
    /// @dev The last page (`next` = 0) requires the table sum of all pages to be the proven
    /// T, the coinbase to be still unsettled and the contract to be solvent with the whole
    /// delivery (as `settle` does); then it locks the coinbase, adds R and any excess to the
    /// credited total and moves the opening to crediting, its cursor back at the list hash.
    function checkPayees(bytes32 id, bytes calldata page, bytes32 next) external nonReentrant {
        Opening storage opening = _openings[id];
        _requireStage(id, opening.stage, Stage.Checking);
        _requirePage(id, opening.cursor, page, next);
        uint256 checkedBefore = opening.payees;
        // Only the empty list has an empty page, and then it is the only page.
        if (page.length == 0 && (checkedBefore != 0 || next != bytes32(0))) revert SettlementEmptyPage(id);

        (uint256 pageSum, uint256 pageWeight, address last) =
            PayeeList.check(page, opening.beta, opening.lastAccount, checkedBefore);
        uint256 checkedSum = addmod(opening.checkedSum, pageSum, PayeeList.FIELD_ORDER);
        opening.checkedSum = checkedSum;
        opening.lastAccount = last;
        // Cannot truncate: below 2^128 per record and far fewer than 2^32 records fit in
        // calldata; D below 2^32 likewise.
        opening.totalWeight += uint160(pageWeight);
        opening.payees = uint32(checkedBefore + page.length / PayeeList.RECORD_SIZE);
        if (next != bytes32(0)) {
            opening.cursor = next;
            return;
        }

        if (checkedSum != opening.tableSum) revert SettlementTableSumMismatch(id, checkedSum, opening.tableSum);
        bytes32 txid = opening.coinbaseTxid;
        uint256 reward = opening.reward;
        (uint256 ledger, uint256 excess) = _checkFunds(txid, reward);
        _settledBlockOf[txid] = opening.blockHash;
        // Cannot overflow the 120-bit field: see `settle`.
        _ledger = ledger + ((reward + excess) << 16);
        opening.stage = Stage.Crediting;
        opening.cursor = opening.listHash;
        // Below 2^120: the solvency check bounds it by the token balance (see `_ledger`).
        opening.excess = uint128(excess);
        emit SettlementChecked(id, txid, opening.payees, opening.totalWeight);
    }

    /// @inheritdoc ISettlementPool
    /// @dev The pages are the ones checked (the same hash chain), so their records are not
    /// checked again. The fee is the one at opening.
    function creditPayees(bytes32 id, bytes calldata page, bytes32 next) external nonReentrant {
        Opening storage opening = _openings[id];
        _requireStage(id, opening.stage, Stage.Crediting);
        _requirePage(id, opening.cursor, page, next);
        uint256 reward = opening.reward;
        uint256 fee = reward * opening.feeBps / _BPS;
        uint256 net = reward - fee;
        uint256 paid = opening.paid + _creditPage(page, net, opening.totalWeight);
        if (next != bytes32(0)) {
            opening.cursor = next;
            // Cannot truncate: at most net, below 2^64.
            opening.paid = uint64(paid);
            return;
        }

        ProvenCoinbase memory proven =
            ProvenCoinbase(opening.blockHash, opening.coinbaseTxid, opening.windowRoot, reward);
        uint256 excess = opening.excess;
        bytes32 listHash = opening.listHash;
        delete _openings[id];
        _creditFeeRecipient(proven, fee, net - paid, excess, listHash);
    }

    // ---------------------------------------------------------------------------------------
    // External: claims
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc ISettlementPool
    function claim() external nonReentrant returns (uint256 amount) {
        return _claim(msg.sender);
    }

    /// @inheritdoc ISettlementPool
    function claimFor(address account) external nonReentrant returns (uint256 amount) {
        return _claim(account);
    }

    // ---------------------------------------------------------------------------------------
    // External: fee
    // ---------------------------------------------------------------------------------------

    /// @notice Lowers the pool fee for future settlements (and paged settlements opened from
    /// now on); only the fee recipient may, and never upwards.
    /// @param newFeeBps The new fee in basis points, below the current one.
    function lowerFee(uint256 newFeeBps) external {
        if (msg.sender != _feeRecipient) revert SettlementUnauthorized(msg.sender);
        uint256 ledger = _ledger;
        uint256 currentFeeBps = uint16(ledger);
        if (newFeeBps >= currentFeeBps) revert SettlementFeeNotLowered(currentFeeBps, newFeeBps);
        _ledger = (ledger - currentFeeBps) | newFeeBps;
        emit FeeLowered(currentFeeBps, newFeeBps);
    }

    // ---------------------------------------------------------------------------------------
    // External: views
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc ISettlementPool
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @inheritdoc ISettlementPool
    function settledBlockOf(bytes32 coinbaseTxid) external view returns (bytes32) {
        return _settledBlockOf[coinbaseTxid];
    }

    /// @inheritdoc ISettlementPool
    function openingOf(bytes32 id) external view returns (Opening memory) {
        return _openings[id];
    }

    /// @notice Total credited by settlements (payees, fees, dust and excess deliveries), from
    /// the end of each block's check pass.
    function totalCredited() external view returns (uint256) {
        return _credited(_ledger);
    }

    /// @notice Total paid out by claims.
    function totalClaimed() external view returns (uint256) {
        return _ledger >> 136;
    }

    /// @notice The current pool fee in basis points.
    function feeBps() external view returns (uint256) {
        return uint16(_ledger);
    }

    /// @notice The scriptPubKey that the coinbase's reward outputs pay.
    function settlementScript() external view returns (bytes memory) {
        return _settlementScript;
    }

    /// @notice The contracts this pool relies on.
    function dependencies()
        external
        view
        returns (IBtcLightClient lightClient, IGroth16Verifier verifier, IERC20 token, IPegIn pegIn)
    {
        return (_lightClient, _verifier, _token, _pegIn);
    }

    /// @notice The fee recipient, the required confirmations and the key's window size N.
    function parameters() external view returns (address feeRecipient, uint256 confirmations, uint256 windowSize) {
        return (_feeRecipient, _confirmations, _windowSize);
    }

    // ---------------------------------------------------------------------------------------
    // External: the statement (PayeeList), for off-chain callers and tests
    // ---------------------------------------------------------------------------------------

    /// @notice keccak256(page ‖ next), a page's hash in the list's chain; with next = 0 and the
    /// whole list as the page, the list hash that `settle` uses.
    function pageHash(bytes calldata page, bytes32 next) external pure returns (bytes32) {
        return PayeeList.pageHash(page, next);
    }

    /// @notice beta = uint256(keccak256(abi.encodePacked(windowRoot, X, listHash))) mod r.
    function computeChallenge(bytes32 windowRoot, uint256 weightCommitment, bytes32 listHash)
        external
        pure
        returns (uint256)
    {
        return PayeeList.challenge(windowRoot, weightCommitment, listHash);
    }

    /// @notice T = sum_j W_j / (beta - A_j) mod r over a list or a page; reverts as `settle`
    /// does on a list that breaks its rules (length, order, zero weight) or when beta is one of
    /// its accounts. A paged list's T is the sum of its pages' mod r.
    /// @dev A view, not pure: the inversion calls the modexp precompile.
    function computeTableSum(uint256 beta, bytes calldata payees) external view returns (uint256 tableSum) {
        (tableSum,,) = PayeeList.check(payees, beta, address(0), 0);
    }

    /// @notice The proof's public inputs [windowRoot, X, beta, T] for a one-page list.
    function publicInputs(bytes32 windowRoot, uint256 weightCommitment, bytes calldata payees)
        external
        view
        returns (uint256[4] memory input)
    {
        uint256 beta = PayeeList.challenge(windowRoot, weightCommitment, PayeeList.pageHash(payees, bytes32(0)));
        (uint256 tableSum,,) = PayeeList.check(payees, beta, address(0), 0);
        input = [uint256(windowRoot), weightCommitment, beta, tableSum];
    }

    /// @notice The id of a paged settlement: keccak256(abi.encode(coinbaseTxid, listHash, X)).
    function openingId(bytes32 coinbaseTxid, bytes32 listHash, uint256 weightCommitment) public pure returns (bytes32) {
        return keccak256(abi.encode(coinbaseTxid, listHash, weightCommitment));
    }

    // ---------------------------------------------------------------------------------------
    // Internal
    // ---------------------------------------------------------------------------------------

    /// @dev The SPV part of settlement, steps (1) to (4): the block is confirmed in the best
    /// chain, the coinbase is in it, and the coinbase commits to one window root and pays R > 0
    /// to the settlement script. Internal so that a test harness can measure it alone.
    function _proveCoinbase(bytes calldata header, bytes calldata coinbaseTx, bytes32[] calldata merkleProof)
        internal
        view
        returns (ProvenCoinbase memory proven)
    {
        if (header.length != 80) revert SettlementBadHeaderLength(header.length);
        if (BitcoinSpv.isAmbiguousLength(coinbaseTx)) revert SettlementAmbiguousCoinbase();
        bytes32 blockHash = BitcoinSpv.hash256(header);

        // (1) In the best chain, confirmed. The height comes from the coinbase (BIP 34); a
        // wrong one makes the lookup fail, never pass.
        uint256 height = BitcoinTx.coinbaseHeight(coinbaseTx);
        uint256 have = _lightClient.confirmations(blockHash, height);
        if (have == 0) revert SettlementBlockNotInBestChain(blockHash, height);
        if (have < _confirmations) revert SettlementNotConfirmed(blockHash, have, _confirmations);

        // (2) The coinbase is in the block, at index 0.
        bytes32 txid = BitcoinSpv.hash256(coinbaseTx);
        if (BitcoinSpv.coinbaseMerkleRoot(txid, merkleProof) != BitcoinSpv.merkleRoot(header)) {
            revert SettlementCoinbaseNotInBlock(blockHash, txid);
        }

        // (3) Exactly one commitment, with a root below r; (4) a reward.
        BitcoinTx.CoinbaseOutputs memory outputs =
            BitcoinTx.parseCoinbaseOutputs(coinbaseTx, _scriptHash, _scriptLength);
        if (outputs.commitments == 0) revert SettlementCommitmentMissing(txid);
        if (outputs.commitments > 1) revert SettlementCommitmentDuplicated(txid, outputs.commitments);
        if (uint256(outputs.windowRoot) >= PayeeList.FIELD_ORDER) {
            revert SettlementCommitmentRootNotInField(txid, outputs.windowRoot);
        }
        if (outputs.reward == 0) revert SettlementNoReward(txid);
        return ProvenCoinbase(blockHash, txid, outputs.windowRoot, outputs.reward);
    }

    // ---------------------------------------------------------------------------------------
    // Private
    // ---------------------------------------------------------------------------------------

    /// @dev Step (5) and the first half of (6): the bridge delivered at least `reward` for the
    /// coinbase, and the coinbase was not settled before. Returns the delivery.
    function _checkDeliveredAndUnsettled(bytes32 txid, uint256 reward) private view returns (uint256 delivered) {
        delivered = _pegIn.delivered(txid);
        if (delivered < reward) revert SettlementFundsNotDelivered(txid, delivered, reward);
        bytes32 settledBlock = _settledBlockOf[txid];
        if (settledBlock != bytes32(0)) revert SettlementAlreadySettled(txid, settledBlock);
    }

    /// @dev Steps (5) and (6): as `_checkDeliveredAndUnsettled`, and the contract holds enough
    /// tokens for everything it owes once the whole delivery is credited, so a bridge that
    /// reports a delivery it did not make cannot create credit. Returns the ledger word and the
    /// delivery above `reward`.
    function _checkFunds(bytes32 txid, uint256 reward) private view returns (uint256 ledger, uint256 excess) {
        uint256 delivered = _checkDeliveredAndUnsettled(txid, reward);
        // Cannot underflow: checked just above.
        unchecked {
            excess = delivered - reward;
        }
        ledger = _ledger;
        uint256 owed = _credited(ledger) - (ledger >> 136) + delivered;
        uint256 balance = _token.balanceOf(address(this));
        if (balance < owed) revert SettlementUnderfunded(balance, owed);
    }

    /// @dev Steps (7) and (8) of `settle`: X below r; the list's records, beta from its
    /// one-page hash and T; the proof. Returns the list hash and W.
    function _verifyOnePage(
        ProvenCoinbase memory proven,
        bytes calldata payees,
        uint256 weightCommitment,
        uint256[8] calldata proof
    ) private view returns (bytes32 listHash, uint256 totalWeight) {
        if (weightCommitment >= PayeeList.FIELD_ORDER) {
            revert SettlementWeightCommitmentNotInField(weightCommitment);
        }
        listHash = PayeeList.pageHash(payees, bytes32(0));
        uint256 beta = PayeeList.challenge(proven.windowRoot, weightCommitment, listHash);
        uint256 tableSum;
        (tableSum, totalWeight,) = PayeeList.check(payees, beta, address(0), 0);
        _verifyProof(proven, weightCommitment, beta, tableSum, proof);
    }

    /// @dev The proof on [windowRoot, X, beta, T].
    function _verifyProof(
        ProvenCoinbase memory proven,
        uint256 weightCommitment,
        uint256 beta,
        uint256 tableSum,
        uint256[8] calldata proof
    ) private view {
        uint256[4] memory input = [uint256(proven.windowRoot), weightCommitment, beta, tableSum];
        if (!_verifier.verifyProof(proof, input)) revert SettlementInvalidProof(proven.blockHash);
    }

    /// @dev Reverts unless the opening `id` is at `required` (`SettlementUnknownOpening` when
    /// there is none).
    function _requireStage(bytes32 id, Stage stage, Stage required) private pure {
        if (stage == required) return;
        if (stage == Stage.None) revert SettlementUnknownOpening(id);
        revert SettlementWrongStage(id, stage, required);
    }

    /// @dev Reverts unless keccak256(page ‖ next) is the opening's cursor.
    function _requirePage(bytes32 id, bytes32 cursor, bytes calldata page, bytes32 next) private pure {
        bytes32 got = PayeeList.pageHash(page, next);
        if (got != cursor) revert SettlementWrongPage(id, cursor, got);
    }

    /// @dev Credits each record of a checked page floor(net * W_j / W), where W is the whole
    /// list's weight; zero amounts write nothing. Returns the sum credited.
    function _creditPage(bytes calldata page, uint256 net, uint256 totalWeight) private returns (uint256 paid) {
        // The hottest loop of a settlement (a cold balance read and write per payee, about
        // 5,000 gas for a returning payee): in assembly, it costs about 150 gas per record above
        // the storage, against about 270 for the same in Solidity. It is
        //   for each record: amount = net * W_j / W; if amount != 0: _balances[A_j] += amount
        // No overflow: net < 2^51 and W_j < 2^128, so net * W_j < 2^179; each amount is at most
        // net, so `paid` stays at most net; a balance is at most the total credited, below 2^120
        // (see `_ledger`). W is non-zero when the page has a record (every weight is at least
        // 1), and the page's records were checked when its hash was.
        assembly ("memory-safe") {
            // The mapping slot of A is keccak256(A ‖ slot of _balances), hashed in scratch space.
            mstore(0x20, _balances.slot)
            let end := add(page.offset, page.length)
            for { let at := page.offset } lt(at, end) { at := add(at, 36) } {
                let amount := div(mul(net, shr(128, calldataload(add(at, 20)))), totalWeight)
                if amount {
                    mstore(0x00, shr(96, calldataload(at)))
                    let slot := keccak256(0x00, 0x40)
                    sstore(slot, add(sload(slot), amount))
                    paid := add(paid, amount)
                }
            }
        }
    }

    /// @dev The end of every settlement: fee, dust and any excess delivery to the fee recipient,
    /// then `BlockSettled` (and `ExcessDeliveryCredited`).
    function _creditFeeRecipient(
        ProvenCoinbase memory proven,
        uint256 fee,
        uint256 dust,
        uint256 excess,
        bytes32 listHash
    ) private {
        _balances[_feeRecipient] += fee + dust + excess;
        emit BlockSettled(proven.blockHash, proven.windowRoot, proven.reward, fee, dust, listHash);
        if (excess != 0) emit ExcessDeliveryCredited(proven.txid, _feeRecipient, excess);
    }

    /// @dev The total credited, from the ledger word.
    function _credited(uint256 ledger) private pure returns (uint256) {
        return (ledger >> 16) & ((uint256(1) << 120) - 1);
    }

    /// @dev Pays `account` its whole balance.
    function _claim(address account) private returns (uint256 amount) {
        amount = _balances[account];
        if (amount == 0) revert SettlementNothingToClaim(account);
        _balances[account] = 0;
        // Cannot overflow the 120-bit field: claims never exceed credits (see `_ledger`).
        _ledger += amount << 136;
        emit Claimed(account, amount);
        _token.safeTransfer(account, amount);
    }
}
