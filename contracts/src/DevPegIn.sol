// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {IBtcLightClient} from "./interfaces/IBtcLightClient.sol";
import {IPegIn} from "./interfaces/IPegIn.sol";
import {BitcoinSpv} from "./lib/BitcoinSpv.sol";
import {BitcoinTx} from "./lib/BitcoinTx.sol";
import {PayeeList} from "./lib/PayeeList.sol";
import {WrappedBtc} from "./WrappedBtc.sol";

/// @title DevPegIn
/// @notice The devnet's bridge. For a coinbase whose block the light client has confirmed, it
/// mints wrapped BTC equal to the coinbase's outputs to the peg-in script and sends it to the
/// settlement contract, once per coinbase. Devnets thus follow the production flow (funds
/// arrive per coinbase through a bridge) without a real bridge; nothing is custodied, and no
/// amount can be minted that a confirmed coinbase did not pay. It mints only for coinbases the
/// settlement contract can settle (exactly one commitment, its root below r, a reward), so that
/// no minted token waits in the pool for a settlement that cannot happen (docs/settlement.md,
/// "Where the funds go").
/// @dev The recipient is bound once after deployment, because the settlement contract takes
/// this contract's token and address in its own constructor.
contract DevPegIn is IPegIn {
    // ---------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------

    /// @notice A constructor parameter is out of range; `parameter` names it.
    error DevPegInInvalidConfig(string parameter);

    /// @notice Only the deployer binds the recipient; `caller` is not it.
    error DevPegInUnauthorized(address caller);

    /// @notice The recipient is already bound (to `recipient`).
    error DevPegInRecipientAlreadyBound(address recipient);

    /// @notice No recipient is bound yet.
    error DevPegInRecipientNotBound();

    /// @notice The header is not 80 bytes.
    error DevPegInBadHeaderLength(uint256 length);

    /// @notice The coinbase is 64 bytes and could pass for a Merkle inner node.
    error DevPegInAmbiguousCoinbase();

    /// @notice The block has `have` confirmations in the best chain; delivery needs `need`.
    error DevPegInNotConfirmed(bytes32 blockHash, uint256 have, uint256 need);

    /// @notice The coinbase's Merkle branch does not lead to the header's Merkle root.
    error DevPegInCoinbaseNotInBlock(bytes32 blockHash, bytes32 coinbaseTxid);

    /// @notice No coinbase output pays the peg-in script.
    error DevPegInNothingToDeliver(bytes32 coinbaseTxid);

    /// @notice The coinbase could never settle: it has `commitments` window-root commitments
    /// (exactly one is needed), or its one root `windowRoot` is not below the field order r.
    error DevPegInNotSettleable(bytes32 coinbaseTxid, uint256 commitments, bytes32 windowRoot);

    /// @notice The coinbase was already delivered (`amount` minted).
    error DevPegInAlreadyDelivered(bytes32 coinbaseTxid, uint256 amount);

    // ---------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------

    /// @notice `recipient` will receive every delivery.
    event RecipientBound(address indexed recipient);

    /// @notice `amount` sats were minted to the recipient for the coinbase `coinbaseTxid` of
    /// block `blockHash`.
    event Delivered(bytes32 indexed coinbaseTxid, bytes32 indexed blockHash, uint256 amount);

    // ---------------------------------------------------------------------------------------
    // Immutables
    // ---------------------------------------------------------------------------------------

    IBtcLightClient private immutable _lightClient;
    WrappedBtc private immutable _token;
    bytes32 private immutable _scriptHash;
    uint256 private immutable _scriptLength;
    uint256 private immutable _confirmations;
    address private immutable _deployer;

    // ---------------------------------------------------------------------------------------
    // Storage
    // ---------------------------------------------------------------------------------------

    /// @dev Where minted funds go: the settlement contract, bound once.
    address private _recipient;

    /// @dev Minted amount per coinbase txid.
    mapping(bytes32 coinbaseTxid => uint256 amount) private _delivered;

    /// @dev The peg-in scriptPubKey, for readers.
    bytes private _pegInScript;

    // ---------------------------------------------------------------------------------------
    // Constructor
    // ---------------------------------------------------------------------------------------

    /// @param lightClient The light client that confirms blocks.
    /// @param pegInScript_ The scriptPubKey whose coinbase outputs are bridged (the settlement
    /// contract's settlement script).
    /// @param confirmations Confirmations a block needs before its coinbase is bridged (>= 1).
    constructor(IBtcLightClient lightClient, bytes memory pegInScript_, uint256 confirmations) {
        if (address(lightClient) == address(0)) revert DevPegInInvalidConfig("lightClient");
        if (pegInScript_.length == 0) revert DevPegInInvalidConfig("pegInScript");
        if (confirmations == 0) revert DevPegInInvalidConfig("confirmations");
        _lightClient = lightClient;
        _token = new WrappedBtc(address(this));
        _scriptHash = keccak256(pegInScript_);
        _scriptLength = pegInScript_.length;
        _confirmations = confirmations;
        _deployer = msg.sender;
        _pegInScript = pegInScript_;
    }

    // ---------------------------------------------------------------------------------------
    // External
    // ---------------------------------------------------------------------------------------

    /// @notice Binds the address that receives every delivery; once, by the deployer.
    /// @param recipient_ The settlement contract.
    function bindRecipient(address recipient_) external {
        if (msg.sender != _deployer) revert DevPegInUnauthorized(msg.sender);
        if (_recipient != address(0)) revert DevPegInRecipientAlreadyBound(_recipient);
        if (recipient_ == address(0)) revert DevPegInInvalidConfig("recipient");
        _recipient = recipient_;
        emit RecipientBound(recipient_);
    }

    /// @notice Bridges a confirmed coinbase: mints the sum of its outputs to the peg-in script
    /// to the recipient. Anyone may call it; each coinbase is delivered once, and only a
    /// coinbase that can settle (exactly one commitment with a root below r).
    /// @param header The block's 80-byte header.
    /// @param coinbaseTx The coinbase in legacy serialisation (with its BIP 34 height).
    /// @param merkleProof The coinbase's Merkle branch (index 0), bottom up.
    /// @return amount The sats minted.
    function deliver(bytes calldata header, bytes calldata coinbaseTx, bytes32[] calldata merkleProof)
        external
        returns (uint256 amount)
    {
        address to = _recipient;
        if (to == address(0)) revert DevPegInRecipientNotBound();
        if (header.length != 80) revert DevPegInBadHeaderLength(header.length);
        if (BitcoinSpv.isAmbiguousLength(coinbaseTx)) revert DevPegInAmbiguousCoinbase();

        bytes32 blockHash = BitcoinSpv.hash256(header);
        uint256 height = BitcoinTx.coinbaseHeight(coinbaseTx);
        uint256 have = _lightClient.confirmations(blockHash, height);
        if (have < _confirmations) revert DevPegInNotConfirmed(blockHash, have, _confirmations);

        bytes32 txid = BitcoinSpv.hash256(coinbaseTx);
        if (BitcoinSpv.coinbaseMerkleRoot(txid, merkleProof) != BitcoinSpv.merkleRoot(header)) {
            revert DevPegInCoinbaseNotInBlock(blockHash, txid);
        }
        uint256 already = _delivered[txid];
        if (already != 0) revert DevPegInAlreadyDelivered(txid, already);

        BitcoinTx.CoinbaseOutputs memory outputs =
            BitcoinTx.parseCoinbaseOutputs(coinbaseTx, _scriptHash, _scriptLength);
        amount = outputs.reward;
        if (amount == 0) revert DevPegInNothingToDeliver(txid);
        if (outputs.commitments != 1 || uint256(outputs.windowRoot) >= PayeeList.FIELD_ORDER) {
            revert DevPegInNotSettleable(txid, outputs.commitments, outputs.windowRoot);
        }

        _delivered[txid] = amount;
        emit Delivered(txid, blockHash, amount);
        _token.mint(to, amount);
    }

    /// @inheritdoc IPegIn
    function delivered(bytes32 coinbaseTxid) external view returns (uint256) {
        return _delivered[coinbaseTxid];
    }

    /// @notice The wrapped-BTC token this peg-in mints.
    function token() external view returns (WrappedBtc) {
        return _token;
    }

    /// @notice The bound recipient (0 until bound).
    function recipient() external view returns (address) {
        return _recipient;
    }

    /// @notice The bridged scriptPubKey.
    function pegInScript() external view returns (bytes memory) {
        return _pegInScript;
    }

    /// @notice The light client and the confirmations a delivery needs.
    function parameters() external view returns (IBtcLightClient lightClient, uint256 confirmations) {
        return (_lightClient, _confirmations);
    }
}
