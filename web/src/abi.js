// The contract entries the app uses, in viem's human-readable form. Every
// entry is checked against contracts/artifacts/ by web/test/abi.test.mjs, so
// a change of the contracts' ABI fails the web tests instead of the page.
import { parseAbi } from 'viem';

export const settlementPoolAbi = parseAbi([
  'function balanceOf(address account) view returns (uint256)',
  'function feeBps() view returns (uint256)',
  'function claim() returns (uint256 amount)',
  'function claimFor(address account) returns (uint256 amount)',
  'function settle(bytes header, bytes coinbaseTx, bytes32[] merkleProof, bytes payees, uint256 weightCommitment, uint256[8] proof)',
  'function openSettlement(bytes header, bytes coinbaseTx, bytes32[] merkleProof, bytes32 listHash, uint256 weightCommitment, uint256 tableSum, uint256[8] proof) returns (bytes32 id)',
  'function creditPayees(bytes32 id, bytes page, bytes32 next)',
  'event BlockSettled(bytes32 indexed blockHash, bytes32 windowRoot, uint256 reward, uint256 fee, uint256 dust, bytes32 listHash)',
  'event SettlementOpened(bytes32 indexed id, bytes32 indexed coinbaseTxid, bytes32 blockHash, bytes32 listHash)',
  'event Claimed(address indexed account, uint256 amount)',
  // The errors a claim can end with, for readable revert reasons.
  'error SettlementNothingToClaim(address account)',
  'error ReentrancyGuardReentrantCall()',
  'error SafeERC20FailedOperation(address token)',
]);

export const tokenAbi = parseAbi([
  'function balanceOf(address account) view returns (uint256)',
  'function decimals() pure returns (uint8)',
  'function symbol() view returns (string)',
]);
