// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {Deploy} from "../script/Deploy.s.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {BtcLightClient} from "../src/BtcLightClient.sol";
import {IBtcLightClient} from "../src/interfaces/IBtcLightClient.sol";
import {IGroth16Verifier} from "../src/interfaces/IGroth16Verifier.sol";
import {IPegIn} from "../src/interfaces/IPegIn.sol";
import {MainnetHeaders} from "./data/MainnetHeaders.sol";
import {RejectingVerifier} from "./mocks/RejectingVerifier.sol";

/// @dev The deployment script wires the contracts together and writes their addresses.
contract DeployTest is Test {
    string internal constant OUTPUT = "deployments/deploy-test.json";

    function test_DeploysAndWritesTheAddresses() public {
        address verifier = address(new RejectingVerifier());
        vm.setEnv("VERIFIER_ADDRESS", vm.toString(verifier));
        vm.setEnv("DEPLOYMENT_JSON", OUTPUT);
        vm.setEnv("POOL_FEE_BPS", "250");
        vm.setEnv("POOL_CONFIRMATIONS", "3");

        Deploy.Deployment memory d = new Deploy().run();

        (uint256 height, bytes32 tipHash,) = d.lightClient.tip();
        assertEq(height, 0);
        // Regtest genesis, display 0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206.
        assertEq(tipHash, 0x06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f);
        assertEq(address(d.verifier), verifier);
        assertEq(d.pegIn.recipient(), address(d.settlementPool));
        assertEq(d.token, address(d.pegIn.token()));
        assertEq(d.settlementPool.feeBps(), 250);
        (, uint256 confirmations, uint256 windowSize) = d.settlementPool.parameters();
        assertEq(confirmations, 3);
        assertEq(windowSize, 8);
        (IBtcLightClient lc, IGroth16Verifier v, IERC20 t, IPegIn p) = d.settlementPool.dependencies();
        assertEq(address(lc), address(d.lightClient));
        assertEq(address(v), verifier);
        assertEq(address(t), d.token);
        assertEq(address(p), address(d.pegIn));

        string memory json = vm.readFile(OUTPUT);
        assertEq(vm.parseJsonAddress(json, ".settlementPool"), address(d.settlementPool));
        assertEq(vm.parseJsonAddress(json, ".lightClient"), address(d.lightClient));
        assertEq(vm.parseJsonAddress(json, ".pegIn"), address(d.pegIn));
        assertEq(vm.parseJsonAddress(json, ".token"), d.token);
        assertEq(vm.parseJsonAddress(json, ".verifier"), verifier);
        assertEq(vm.parseJsonUint(json, ".chainId"), block.chainid);
        vm.removeFile(OUTPUT);
    }

    // The committed verifier's seed is public: with it anyone proves any payee list. Regtest
    // rules let anyone mine headers. Neither is deployed off a local devnet unless asked for.
    // (The settings are given to `checkSecurity` directly: environment variables are shared by
    // tests that run in parallel.)

    uint256 internal constant SEPOLIA = 11155111;

    function test_DevnetMayUseTheCommittedVerifierAndRegtestRules() public {
        new Deploy().checkSecurity(31337, true, _regtestRules(), false);
    }

    function test_RevertWhen_CommittedVerifierOffADevnet() public {
        Deploy deploy = new Deploy();
        vm.expectRevert(abi.encodeWithSelector(Deploy.DeployInsecureVerifier.selector, SEPOLIA));
        deploy.checkSecurity(SEPOLIA, true, _mainnetRules(), false);
        vm.expectRevert(abi.encodeWithSelector(Deploy.DeployInsecureVerifier.selector, 1));
        deploy.checkSecurity(1, true, _mainnetRules(), false);
    }

    function test_RevertWhen_RegtestRulesOffADevnet() public {
        Deploy deploy = new Deploy();
        BtcLightClient.NetworkRules memory rules = _regtestRules();
        vm.expectRevert(
            abi.encodeWithSelector(Deploy.DeployInsecureLightClientRules.selector, SEPOLIA, rules.powLimit, 0)
        );
        deploy.checkSecurity(SEPOLIA, false, rules, false);
        // Mainnet's PoW limit without retargeting: nBits never changes, still not Bitcoin.
        rules = _mainnetRules();
        rules.retargetInterval = 0;
        vm.expectRevert(
            abi.encodeWithSelector(Deploy.DeployInsecureLightClientRules.selector, SEPOLIA, rules.powLimit, 0)
        );
        deploy.checkSecurity(SEPOLIA, false, rules, false);
    }

    function test_ADeployedVerifierAndMainnetRulesPassAnywhere() public {
        new Deploy().checkSecurity(SEPOLIA, false, _mainnetRules(), false);
    }

    function test_AllowInsecureVerifierLetsADeployerChooseTheRisk() public {
        new Deploy().checkSecurity(SEPOLIA, true, _regtestRules(), true);
    }

    function test_RevertWhen_TheScriptRunsOffADevnetWithItsDefaults() public {
        vm.chainId(SEPOLIA);
        // The defaults are regtest rules, and the committed verifier unless another test set
        // VERIFIER_ADDRESS meanwhile: either refusal stops the script before it deploys.
        try new Deploy().run() {
            assertTrue(false, "the script deployed an insecure devnet on Sepolia");
        } catch (bytes memory reason) {
            bytes4 selector = bytes4(reason);
            assertTrue(
                selector == Deploy.DeployInsecureVerifier.selector
                    || selector == Deploy.DeployInsecureLightClientRules.selector
            );
        }
    }

    function _regtestRules() internal pure returns (BtcLightClient.NetworkRules memory) {
        return BtcLightClient.NetworkRules({powLimit: 0x7fffff << 232, retargetInterval: 0, targetTimespan: 0});
    }

    function _mainnetRules() internal pure returns (BtcLightClient.NetworkRules memory) {
        return BtcLightClient.NetworkRules({
            powLimit: MainnetHeaders.POW_LIMIT,
            retargetInterval: MainnetHeaders.RETARGET_INTERVAL,
            targetTimespan: MainnetHeaders.TARGET_TIMESPAN
        });
    }
}
