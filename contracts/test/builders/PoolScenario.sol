// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {BtcLightClient} from "../../src/BtcLightClient.sol";
import {DevPegIn} from "../../src/DevPegIn.sol";
import {SettlementPool} from "../../src/SettlementPool.sol";
import {WrappedBtc} from "../../src/WrappedBtc.sol";
import {IGroth16Verifier} from "../../src/interfaces/IGroth16Verifier.sol";
import {BitcoinSpv} from "../../src/lib/BitcoinSpv.sol";
import {BlockBuilder} from "./BlockBuilder.sol";
import {CoinbaseBuilder} from "./CoinbaseBuilder.sol";

/// @title PoolScenario
/// @notice A devnet in a test: a regtest-difficulty Bitcoin chain mined on the fly, the light
/// client following it, the dev peg-in with its token, and the settlement pool.
abstract contract PoolScenario is Test {
    /// @dev P2WSH(OP_TRUE), the devnet's default settlement script.
    bytes internal constant SETTLEMENT_SCRIPT =
        hex"00204ae81572f06e1b88fd5ced7a1a000945432e83e1551e6f721ee9c00b8cc33260";
    uint32 internal constant GENESIS_TIME = 1_700_000_000;
    uint256 internal constant WINDOW_SIZE = 8;

    struct MinedBlock {
        bytes header;
        bytes coinbase;
        bytes32[] branch;
        bytes32 blockHash;
        bytes32 txid;
        uint256 height;
    }

    BtcLightClient internal lightClient;
    DevPegIn internal pegIn;
    WrappedBtc internal token;
    SettlementPool internal pool;
    address internal feeRecipient;
    bytes32 internal tipHash;
    uint256 internal tipHeight;
    uint256 private _nonce;

    function _deploy(IGroth16Verifier verifier, uint256 feeBps, uint256 confirmations) internal {
        // The light client refuses headers more than two hours ahead of this chain's clock:
        // a year after the genesis leaves room for 52,000 blocks at 600 s.
        vm.warp(GENESIS_TIME + 365 days);
        feeRecipient = makeAddr("fee recipient");
        bytes memory genesis =
            BlockBuilder.mine(bytes32(0), keccak256("regtest genesis"), GENESIS_TIME, BlockBuilder.REGTEST_BITS, 0);
        lightClient = new BtcLightClient(
            BtcLightClient.Checkpoint({header: genesis, height: 0, chainWork: 2, periodStartTime: 0}),
            BtcLightClient.NetworkRules({
                powLimit: BlockBuilder.REGTEST_POW_LIMIT, retargetInterval: 0, targetTimespan: 0
            })
        );
        tipHash = BlockBuilder.hashOf(genesis);
        tipHeight = 0;
        pegIn = new DevPegIn(lightClient, SETTLEMENT_SCRIPT, confirmations);
        token = pegIn.token();
        pool = new SettlementPool(
            SettlementPool.Config({
                lightClient: lightClient,
                verifier: verifier,
                token: token,
                pegIn: pegIn,
                settlementScript: SETTLEMENT_SCRIPT,
                feeRecipient: feeRecipient,
                feeBps: feeBps,
                confirmations: confirmations,
                windowSize: WINDOW_SIZE
            })
        );
        pegIn.bindRecipient(address(pool));
    }

    /// @dev Mines a block on the tip holding `coinbase` and `others` more transactions, and
    /// submits its header.
    function _mine(bytes memory coinbase, uint256 others) internal returns (MinedBlock memory b) {
        bytes32[] memory txids = new bytes32[](others + 1);
        txids[0] = BitcoinSpv.hash256Memory(coinbase);
        for (uint256 i = 1; i <= others; ++i) {
            txids[i] = keccak256(abi.encode("tx", _nonce++, i));
        }
        bytes32 root;
        (root, b.branch) = BlockBuilder.merkle(txids);
        b.coinbase = coinbase;
        b.txid = txids[0];
        b.height = tipHeight + 1;
        b.header = _mineHeader(root);
        b.blockHash = BlockBuilder.hashOf(b.header);
        lightClient.submitHeaders(tipHeight, b.header);
        tipHash = b.blockHash;
        tipHeight = b.height;
    }

    /// @dev Mines and submits a block whose transactions have these txids.
    function _mineTxids(bytes32[] memory txids) internal returns (bytes memory header, bytes32 blockHash) {
        (bytes32 root,) = BlockBuilder.merkle(txids);
        header = _mineHeader(root);
        blockHash = BlockBuilder.hashOf(header);
        lightClient.submitHeaders(tipHeight, header);
        tipHash = blockHash;
        ++tipHeight;
    }

    /// @dev A pool block: the reward to the settlement script, the commitment to `windowRoot`,
    /// three other transactions.
    function _minePoolBlock(bytes32 windowRoot, uint64 reward) internal returns (MinedBlock memory) {
        return _mine(CoinbaseBuilder.poolCoinbase(tipHeight + 1, windowRoot, reward, SETTLEMENT_SCRIPT), 3);
    }

    /// @dev Mines `count` blocks of no interest on the tip, submitted as one batch.
    function _mineEmpty(uint256 count) internal {
        if (count == 0) return;
        bytes memory headers;
        uint256 parent = tipHeight;
        for (uint256 i; i < count; ++i) {
            bytes memory header = _mineHeader(keccak256(abi.encode("empty", _nonce++)));
            tipHash = BlockBuilder.hashOf(header);
            ++tipHeight;
            headers = abi.encodePacked(headers, header);
        }
        lightClient.submitHeaders(parent, headers);
    }

    /// @dev Gives `b` `confirmations` confirmations in total (b must be the tip).
    function _confirm(uint256 confirmations) internal {
        _mineEmpty(confirmations - 1);
    }

    function _deliver(MinedBlock memory b) internal returns (uint256) {
        return pegIn.deliver(b.header, b.coinbase, b.branch);
    }

    /// @dev Settles `b` in one transaction.
    function _settle(MinedBlock memory b, bytes memory payees, uint256 weightCommitment, uint256[8] memory proof)
        internal
    {
        pool.settle(b.header, b.coinbase, b.branch, payees, weightCommitment, proof);
    }

    /// @dev Opens a paged settlement of `b` for the list whose page chain starts at `listHash`.
    function _open(
        MinedBlock memory b,
        bytes32 listHash,
        uint256 weightCommitment,
        uint256 tableSum,
        uint256[8] memory proof
    ) internal returns (bytes32) {
        return pool.openSettlement(b.header, b.coinbase, b.branch, listHash, weightCommitment, tableSum, proof);
    }

    /// @dev Checks every page of an opening (`hashes[k]` = h_k, as `PayeeListBuilder.chain`).
    function _checkAll(bytes32 id, bytes[] memory pages, bytes32[] memory hashes) internal {
        for (uint256 k; k < pages.length; ++k) {
            pool.checkPayees(id, pages[k], hashes[k + 1]);
        }
    }

    /// @dev Credits every page of a checked opening.
    function _creditAll(bytes32 id, bytes[] memory pages, bytes32[] memory hashes) internal {
        for (uint256 k; k < pages.length; ++k) {
            pool.creditPayees(id, pages[k], hashes[k + 1]);
        }
    }

    function _mineHeader(bytes32 merkleRoot) internal view returns (bytes memory) {
        return BlockBuilder.mine(
            tipHash, merkleRoot, uint32(GENESIS_TIME + (tipHeight + 1) * 600), BlockBuilder.REGTEST_BITS, 0
        );
    }

    function _proof(uint256 seed) internal pure returns (uint256[8] memory proof) {
        for (uint256 i; i < 8; ++i) {
            proof[i] = uint256(keccak256(abi.encode("proof", seed, i))) >> 8;
        }
    }
}
