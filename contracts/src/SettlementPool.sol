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
import {Payout, PayoutBinding} from "./lib/PayoutBinding.sol";

/// @title SettlementPool
/// @notice The non-custodial end of the pool. For each block the pool finds, anyone (in
/// practice the node) calls `settle` with the block's header, its coinbase and Merkle branch,
/// the payout list and a Groth16 proof that the list is the PPLNS allocation of the window
/// committed in the coinbase. The contract checks the block through the Bitcoin light client,
/// reads the window root and the reward R from the coinbase, checks that the bridge delivered
/// R for that coinbase, verifies the proof against the payout list and credits every payee.
/// Miners then `claim` with their own wallet.
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
    /// @param verifier The Groth16 verifier generated for the (N, M) key.
    /// @param token The 8-decimal token the bridge delivers (1 unit = 1 sat).
    /// @param pegIn The bridge that reports what it delivered per coinbase.
    /// @param settlementScript The scriptPubKey the coinbase's reward outputs pay.
    /// @param feeRecipient Receives the fee and the rounding dust; may lower the fee.
    /// @param feeBps The pool fee in basis points (at most 10,000).
    /// @param confirmations Confirmations a block needs before settlement (>= 1).
    /// @param windowSize N, the number of shares in a window (the key's N; informational).
    /// @param maxPayouts M, the most payout entries the key proves.
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
        uint256 maxPayouts;
    }

    /// @dev What steps (1) to (4) of `settle` establish about the block and its coinbase.
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

    /// @notice The payout list has `count` entries; the key proves at most `max`.
    error SettlementTooManyPayouts(uint256 count, uint256 max);

    /// @notice Payout `index` is the zero address or not above the previous account.
    error SettlementPayoutsNotSorted(uint256 index);

    /// @notice The payouts add up to `paid`, more than the reward after the fee, `net`.
    error SettlementPayoutsExceedNet(uint256 paid, uint256 net);

    /// @notice The verifier rejected the proof for this block's statement.
    error SettlementInvalidProof(bytes32 blockHash);

    /// @notice `account` has nothing to claim.
    error SettlementNothingToClaim(address account);

    /// @notice Only the fee recipient may call this; `caller` is not it.
    error SettlementUnauthorized(address caller);

    /// @notice The fee may only go down: `newFeeBps` is not below `feeBps`.
    error SettlementFeeNotLowered(uint256 feeBps, uint256 newFeeBps);

    // ---------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------

    /// @notice A block was settled: `reward` credited as the payouts (hashed in `payoutHash`,
    /// keccak256(abi.encode(payouts))) plus `fee + dust` to the fee recipient.
    event BlockSettled(
        bytes32 indexed blockHash, bytes32 windowRoot, uint256 reward, uint256 fee, uint256 dust, bytes32 payoutHash
    );

    /// @notice The bridge delivered `excess` more than the reward for the coinbase
    /// `coinbaseTxid`; it was credited to the fee recipient with the block's settlement.
    event ExcessDeliveryCredited(bytes32 indexed coinbaseTxid, address indexed feeRecipient, uint256 excess);

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
    uint256 private immutable _maxPayouts;

    // ---------------------------------------------------------------------------------------
    // Storage
    // ---------------------------------------------------------------------------------------

    /// @dev Credited, unclaimed token units per account.
    mapping(address account => uint256 amount) private _balances;

    /// @dev Coinbase txid => the block whose settlement consumed its delivered funds.
    mapping(bytes32 coinbaseTxid => bytes32 blockHash) private _settledBlockOf;

    /// @dev One word that `settle` and `claim` read and write anyway: bits 0..15 the current
    /// fee in bps (only ever lowered), 16..135 the total credited, 136..255 the total claimed
    /// (2^120 sats is far above the 2.1e15 that exist).
    uint256 private _ledger;

    /// @dev The settlement scriptPubKey, for readers; `settle` compares its hash.
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
        if (config.maxPayouts == 0) revert SettlementInvalidConfig("maxPayouts");

        _lightClient = config.lightClient;
        _verifier = config.verifier;
        _token = config.token;
        _pegIn = config.pegIn;
        _scriptHash = keccak256(config.settlementScript);
        _scriptLength = config.settlementScript.length;
        _feeRecipient = config.feeRecipient;
        _confirmations = config.confirmations;
        _windowSize = config.windowSize;
        _maxPayouts = config.maxPayouts;
        _settlementScript = config.settlementScript;
        _ledger = config.feeBps;
    }

    // ---------------------------------------------------------------------------------------
    // External: settlement
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc ISettlementPool
    /// @dev Checks, in this order: the input shapes (80-byte header, no 64-byte coinbase, a
    /// coinbase with a BIP 34 height); (1) the block is in the best chain with enough
    /// confirmations; (2) the coinbase is in the header; (3) exactly one commitment (an output
    /// whose script is exactly the 39-byte commitment script), its root below r; (4) R > 0;
    /// (5) R delivered by the bridge; (6) not settled before, and the contract's token balance
    /// covers all it owes with what was delivered; (7) payouts sorted, at most M, within the net
    /// reward; (8) the proof. Then credits and emits `BlockSettled`; a delivery above R is
    /// credited to the fee recipient (`ExcessDeliveryCredited`), so that every delivered unit of
    /// a settled coinbase is owed to someone (docs/settlement.md, "Where the funds go").
    function settle(
        bytes calldata header,
        bytes calldata coinbaseTx,
        bytes32[] calldata merkleProof,
        Payout[] calldata payouts,
        uint256[8] calldata proof
    ) external nonReentrant {
        // (1) to (4).
        ProvenCoinbase memory proven = _proveCoinbase(header, coinbaseTx, merkleProof);
        // (5) and (6).
        (uint256 ledger, uint256 excess) = _checkFunds(proven.txid, proven.reward);
        // (7).
        Payout[] memory list = payouts;
        uint256 currentFeeBps = uint16(ledger);
        uint256 fee = proven.reward * currentFeeBps / _BPS;
        uint256 paid = _checkPayouts(list, proven.reward - fee);
        // (8).
        (uint256[4] memory input, bytes32 listHash) =
            PayoutBinding.bind(proven.windowRoot, proven.reward, currentFeeBps, list);
        if (!_verifier.verifyProof(proof, input)) revert SettlementInvalidProof(proven.blockHash);

        _record(proven, ledger, fee, paid, excess, list, listHash);
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

    /// @notice Lowers the pool fee for future settlements; only the fee recipient may, and
    /// never upwards. Proofs made for the old fee then fail and are made again.
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

    /// @notice Total credited by settlements (payouts, fees and dust).
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

    /// @notice The fee recipient, the required confirmations and the key's window parameters.
    function parameters()
        external
        view
        returns (address feeRecipient, uint256 confirmations, uint256 windowSize, uint256 maxPayouts)
    {
        return (_feeRecipient, _confirmations, _windowSize, _maxPayouts);
    }

    // ---------------------------------------------------------------------------------------
    // External: payout binding (docs/ARCHITECTURE.md item 9), for off-chain callers and tests
    // ---------------------------------------------------------------------------------------

    /// @notice c = uint256(keccak256(abi.encode(windowRoot, reward, feeBps, payouts))) mod r.
    function computeChallenge(bytes32 windowRoot, uint256 reward, uint256 feeBps_, Payout[] calldata payouts)
        external
        pure
        returns (uint256)
    {
        return PayoutBinding.challenge(windowRoot, reward, feeBps_, payouts);
    }

    /// @notice S = sum_j c^j * (addr_j + amount_j * 2^160) mod r, j from 0.
    function computeS(uint256 c, Payout[] calldata payouts) external pure returns (uint256) {
        return PayoutBinding.evaluate(c, payouts);
    }

    /// @notice The proof's public inputs [windowRoot, reward + feeBps * 2^64, c, S].
    function publicInputs(bytes32 windowRoot, uint256 reward, uint256 feeBps_, Payout[] calldata payouts)
        external
        pure
        returns (uint256[4] memory)
    {
        return PayoutBinding.publicInputs(windowRoot, reward, feeBps_, payouts);
    }

    /// @notice keccak256(abi.encode(payouts)), the `payoutHash` of `BlockSettled`.
    function payoutHash(Payout[] calldata payouts) external pure returns (bytes32) {
        return PayoutBinding.payoutHash(payouts);
    }

    // ---------------------------------------------------------------------------------------
    // Internal
    // ---------------------------------------------------------------------------------------

    /// @dev The SPV part of `settle`, steps (1) to (4): the block is confirmed in the best
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
        if (uint256(outputs.windowRoot) >= PayoutBinding.FIELD_ORDER) {
            revert SettlementCommitmentRootNotInField(txid, outputs.windowRoot);
        }
        if (outputs.reward == 0) revert SettlementNoReward(txid);
        return ProvenCoinbase(blockHash, txid, outputs.windowRoot, outputs.reward);
    }

    // ---------------------------------------------------------------------------------------
    // Private
    // ---------------------------------------------------------------------------------------

    /// @dev Steps (5) and (6): the bridge delivered at least `reward` for the coinbase; the
    /// coinbase was not settled before; and the contract holds enough tokens for everything it
    /// owes once the whole delivery is credited, so a bridge that reports a delivery it did not
    /// make cannot create credit. Returns the ledger word and the delivery above `reward`.
    function _checkFunds(bytes32 txid, uint256 reward) private view returns (uint256 ledger, uint256 excess) {
        uint256 delivered = _pegIn.delivered(txid);
        if (delivered < reward) revert SettlementFundsNotDelivered(txid, delivered, reward);
        bytes32 settledBlock = _settledBlockOf[txid];
        if (settledBlock != bytes32(0)) revert SettlementAlreadySettled(txid, settledBlock);
        // Cannot underflow: checked just above.
        unchecked {
            excess = delivered - reward;
        }
        ledger = _ledger;
        uint256 owed = _credited(ledger) - (ledger >> 136) + delivered;
        uint256 balance = _token.balanceOf(address(this));
        if (balance < owed) revert SettlementUnderfunded(balance, owed);
    }

    /// @dev Step (7): at most M entries, accounts strictly ascending and non-zero, amounts
    /// adding up to at most `net`. Returns their sum.
    function _checkPayouts(Payout[] memory payouts, uint256 net) private view returns (uint256 paid) {
        uint256 length = payouts.length;
        if (length > _maxPayouts) revert SettlementTooManyPayouts(length, _maxPayouts);
        address previous = address(0);
        for (uint256 j; j < length; ++j) {
            Payout memory payout = payouts[j];
            if (payout.account <= previous) revert SettlementPayoutsNotSorted(j);
            previous = payout.account;
            paid += payout.amount;
        }
        if (paid > net) revert SettlementPayoutsExceedNet(paid, net);
    }

    /// @dev Credits a verified settlement: the payees, then fee and dust to the fee recipient,
    /// R in all, and any delivery above R to the fee recipient too; marks the coinbase settled
    /// and emits `BlockSettled` (and `ExcessDeliveryCredited`).
    function _record(
        ProvenCoinbase memory proven,
        uint256 ledger,
        uint256 fee,
        uint256 paid,
        uint256 excess,
        Payout[] memory payouts,
        bytes32 listHash
    ) private {
        _settledBlockOf[proven.txid] = proven.blockHash;
        _credit(payouts);
        uint256 dust = proven.reward - fee - paid;
        _balances[_feeRecipient] += fee + dust + excess;
        // Cannot overflow the 120-bit field: every credit is backed by delivered tokens (the
        // solvency check), and no token supply reaches 2^120.
        _ledger = ledger + ((proven.reward + excess) << 16);
        emit BlockSettled(proven.blockHash, proven.windowRoot, proven.reward, fee, dust, listHash);
        if (excess != 0) emit ExcessDeliveryCredited(proven.txid, _feeRecipient, excess);
    }

    /// @dev Adds each payout to its account's balance (zero amounts write nothing).
    function _credit(Payout[] memory payouts) private {
        uint256 length = payouts.length;
        for (uint256 j; j < length; ++j) {
            Payout memory payout = payouts[j];
            if (payout.amount != 0) _balances[payout.account] += payout.amount;
        }
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
