// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {DevPegIn} from "../src/DevPegIn.sol";
import {WrappedBtc} from "../src/WrappedBtc.sol";
import {PayeeList} from "../src/lib/PayeeList.sol";
import {CoinbaseBuilder} from "./builders/CoinbaseBuilder.sol";
import {PoolScenario} from "./builders/PoolScenario.sol";
import {RejectingVerifier} from "./mocks/RejectingVerifier.sol";

/// @dev The devnet bridge mints only for confirmed coinbases that can settle, once each, to the
/// settlement pool.
contract DevPegInTest is PoolScenario {
    uint256 internal constant CONFIRMATIONS = 2;
    uint64 internal constant REWARD = 3_1250_0000;

    function setUp() public {
        _deploy(new RejectingVerifier(), 100, CONFIRMATIONS);
    }

    function test_DeliversAConfirmedCoinbaseToThePool() public {
        MinedBlock memory b = _minePoolBlock(bytes32(uint256(1)), REWARD);
        _confirm(CONFIRMATIONS);
        vm.expectEmit(address(pegIn));
        emit DevPegIn.Delivered(b.txid, b.blockHash, REWARD);
        assertEq(_deliver(b), REWARD);
        assertEq(token.balanceOf(address(pool)), REWARD);
        assertEq(pegIn.delivered(b.txid), REWARD);
        assertEq(token.totalSupply(), REWARD);
    }

    function test_DeliversOnlyTheOutputsToThePegInScript() public {
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](4);
        outputs[0] = CoinbaseBuilder.Output(REWARD, SETTLEMENT_SCRIPT);
        outputs[1] = CoinbaseBuilder.Output(999, hex"51");
        outputs[2] = CoinbaseBuilder.Output(1, SETTLEMENT_SCRIPT);
        outputs[3] = CoinbaseBuilder.Output(0, CoinbaseBuilder.commitmentScript(bytes32(uint256(1))));
        MinedBlock memory b = _mine(CoinbaseBuilder.coinbase(tipHeight + 1, hex"aabb", outputs), 5);
        _confirm(CONFIRMATIONS);
        assertEq(_deliver(b), REWARD + 1);
    }

    // A coinbase the settlement pool can never settle gets no tokens: they would wait in the
    // pool, owed to nobody, forever.

    function test_RevertWhen_CoinbaseHasNoCommitment() public {
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](1);
        outputs[0] = CoinbaseBuilder.Output(REWARD, SETTLEMENT_SCRIPT);
        MinedBlock memory b = _mine(CoinbaseBuilder.coinbase(tipHeight + 1, hex"aabb", outputs), 1);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(abi.encodeWithSelector(DevPegIn.DevPegInNotSettleable.selector, b.txid, 0, bytes32(0)));
        _deliver(b);
        assertEq(token.totalSupply(), 0);
    }

    function test_RevertWhen_CoinbaseHasTwoCommitments() public {
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](3);
        outputs[0] = CoinbaseBuilder.Output(REWARD, SETTLEMENT_SCRIPT);
        outputs[1] = CoinbaseBuilder.Output(0, CoinbaseBuilder.commitmentScript(bytes32(uint256(1))));
        outputs[2] = CoinbaseBuilder.Output(0, CoinbaseBuilder.commitmentScript(bytes32(uint256(2))));
        MinedBlock memory b = _mine(CoinbaseBuilder.coinbase(tipHeight + 1, hex"aabb", outputs), 1);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(abi.encodeWithSelector(DevPegIn.DevPegInNotSettleable.selector, b.txid, 2, bytes32(uint256(1))));
        _deliver(b);
    }

    function test_RevertWhen_CommitmentRootIsNotBelowTheFieldOrder() public {
        bytes32 root = bytes32(PayeeList.FIELD_ORDER);
        MinedBlock memory b = _minePoolBlock(root, REWARD);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(abi.encodeWithSelector(DevPegIn.DevPegInNotSettleable.selector, b.txid, 1, root));
        _deliver(b);
    }

    function test_DeliversACoinbaseWhoseOnlyCommitmentCarriesValue() public {
        CoinbaseBuilder.Output[] memory outputs = new CoinbaseBuilder.Output[](2);
        outputs[0] = CoinbaseBuilder.Output(REWARD, SETTLEMENT_SCRIPT);
        outputs[1] = CoinbaseBuilder.Output(1, CoinbaseBuilder.commitmentScript(bytes32(uint256(1))));
        MinedBlock memory b = _mine(CoinbaseBuilder.coinbase(tipHeight + 1, hex"aabb", outputs), 1);
        _confirm(CONFIRMATIONS);
        assertEq(_deliver(b), REWARD);
    }

    function test_RevertWhen_NotConfirmedEnough() public {
        MinedBlock memory b = _minePoolBlock(bytes32(uint256(1)), REWARD);
        vm.expectRevert(abi.encodeWithSelector(DevPegIn.DevPegInNotConfirmed.selector, b.blockHash, 1, CONFIRMATIONS));
        _deliver(b);
    }

    function test_RevertWhen_DeliveredTwice() public {
        MinedBlock memory b = _minePoolBlock(bytes32(uint256(1)), REWARD);
        _confirm(CONFIRMATIONS);
        _deliver(b);
        vm.expectRevert(abi.encodeWithSelector(DevPegIn.DevPegInAlreadyDelivered.selector, b.txid, REWARD));
        _deliver(b);
    }

    function test_RevertWhen_CoinbasePaysNothingToThePegInScript() public {
        MinedBlock memory b = _mine(CoinbaseBuilder.poolCoinbase(tipHeight + 1, bytes32(0), REWARD, hex"51"), 0);
        _confirm(CONFIRMATIONS);
        vm.expectRevert(abi.encodeWithSelector(DevPegIn.DevPegInNothingToDeliver.selector, b.txid));
        _deliver(b);
    }

    function test_RevertWhen_CoinbaseIsNotInTheBlock() public {
        MinedBlock memory b = _minePoolBlock(bytes32(uint256(1)), REWARD);
        _confirm(CONFIRMATIONS);
        b.branch[0] = bytes32(0);
        vm.expectRevert(abi.encodeWithSelector(DevPegIn.DevPegInCoinbaseNotInBlock.selector, b.blockHash, b.txid));
        _deliver(b);
    }

    function test_RevertWhen_SixtyFourByteCoinbase() public {
        MinedBlock memory b = _minePoolBlock(bytes32(uint256(1)), REWARD);
        vm.expectRevert(DevPegIn.DevPegInAmbiguousCoinbase.selector);
        pegIn.deliver(b.header, new bytes(64), b.branch);
    }

    function test_RevertWhen_RecipientIsNotBound() public {
        DevPegIn unbound = new DevPegIn(lightClient, SETTLEMENT_SCRIPT, 1);
        MinedBlock memory b = _minePoolBlock(bytes32(uint256(1)), REWARD);
        vm.expectRevert(DevPegIn.DevPegInRecipientNotBound.selector);
        unbound.deliver(b.header, b.coinbase, b.branch);
    }

    function test_RevertWhen_RecipientIsBoundTwiceOrByAnother() public {
        vm.expectRevert(abi.encodeWithSelector(DevPegIn.DevPegInRecipientAlreadyBound.selector, address(pool)));
        pegIn.bindRecipient(address(this));

        DevPegIn fresh = new DevPegIn(lightClient, SETTLEMENT_SCRIPT, 1);
        address stranger = makeAddr("stranger");
        vm.expectRevert(abi.encodeWithSelector(DevPegIn.DevPegInUnauthorized.selector, stranger));
        vm.prank(stranger);
        fresh.bindRecipient(stranger);
    }

    function test_TokenHasEightDecimalsAndOnlyThePegInMints() public {
        assertEq(token.decimals(), 8);
        assertEq(token.minter(), address(pegIn));
        vm.expectRevert(abi.encodeWithSelector(WrappedBtc.WrappedBtcUnauthorizedMinter.selector, address(this)));
        token.mint(address(this), 1);
    }

    function test_Gas_Deliver() public {
        MinedBlock memory b = _minePoolBlock(bytes32(uint256(1)), REWARD);
        _confirm(CONFIRMATIONS);
        _deliver(b);
        vm.snapshotGasLastCall("DevPegIn", "deliver_tx");
    }
}
