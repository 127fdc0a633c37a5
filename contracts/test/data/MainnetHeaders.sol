// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @title MainnetHeaders
/// @notice Real Bitcoin mainnet block headers (80 bytes each, as serialised on the wire).
/// They check themselves: each hash meets its nBits and each header names its parent's hash,
/// and the tests assert the well-known block hashes.
library MainnetHeaders {
    /// @dev Mainnet's PoW limit (nBits 0x1d00ffff), retarget interval and timespan.
    uint256 internal constant POW_LIMIT = 0x00000000ffff0000000000000000000000000000000000000000000000000000;
    uint256 internal constant RETARGET_INTERVAL = 2016;
    uint256 internal constant TARGET_TIMESPAN = 14 days;

    /// @notice Blocks 0 (genesis) to 11.
    function early() internal pure returns (bytes[12] memory h) {
        h[0] =
            hex"0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";
        h[1] =
            hex"010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e61bc6649ffff001d01e36299";
        h[2] =
            hex"010000004860eb18bf1b1620e37e9490fc8a427514416fd75159ab86688e9a8300000000d5fdcc541e25de1c7a5addedf24858b8bb665c9f36ef744ee42c316022c90f9bb0bc6649ffff001d08d2bd61";
        h[3] =
            hex"01000000bddd99ccfda39da1b108ce1a5d70038d0a967bacb68b6b63065f626a0000000044f672226090d85db9a9f2fbfe5f0f9609b387af7be5b7fbb7a1767c831c9e995dbe6649ffff001d05e0ed6d";
        h[4] =
            hex"010000004944469562ae1c2c74d9a535e00b6f3e40ffbad4f2fda3895501b582000000007a06ea98cd40ba2e3288262b28638cec5337c1456aaf5eedc8e9e5a20f062bdf8cc16649ffff001d2bfee0a9";
        h[5] =
            hex"0100000085144a84488ea88d221c8bd6c059da090e88f8a2c99690ee55dbba4e00000000e11c48fecdd9e72510ca84f023370c9a38bf91ac5cae88019bee94d24528526344c36649ffff001d1d03e477";
        h[6] =
            hex"01000000fc33f596f822a0a1951ffdbf2a897b095636ad871707bf5d3162729b00000000379dfb96a5ea8c81700ea4ac6b97ae9a9312b2d4301a29580e924ee6761a2520adc46649ffff001d189c4c97";
        h[7] =
            hex"010000008d778fdc15a2d3fb76b7122a3b5582bea4f21f5a0c693537e7a03130000000003f674005103b42f984169c7d008370967e91920a6a5d64fd51282f75bc73a68af1c66649ffff001d39a59c86";
        h[8] =
            hex"010000004494c8cf4154bdcc0720cd4a59d9c9b285e4b146d45f061d2b6c967100000000e3855ed886605b6d4a99d5fa2ef2e9b0b164e63df3c4136bebf2d0dac0f1f7a667c86649ffff001d1c4b5666";
        h[9] =
            hex"01000000c60ddef1b7618ca2348a46e868afc26e3efc68226c78aa47f8488c4000000000c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd37047fca6649ffff001d28404f53";
        h[10] =
            hex"010000000508085c47cc849eb80ea905cc7800a3be674ffc57263cf210c59d8d00000000112ba175a1e04b14ba9e7ea5f76ab640affeef5ec98173ac9799a852fa39add320cd6649ffff001d1e2de565";
        h[11] =
            hex"01000000e915d9a478e3adf3186c07c61a22228b10fd87df343c92782ecc052c000000006e06373c80de397406dc3d19c90d71d230058d28293614ea58d6a57f8f5d32f8b8ce6649ffff001d173807f8";
    }

    /// @notice Block 0's hash, internal byte order (display: 000000000019d6...8ce26f).
    bytes32 internal constant GENESIS_HASH = 0x6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000;

    /// @notice Block 11's hash, internal byte order (display: 0000000097be56d606cdd9c5...).
    bytes32 internal constant HASH_11 = 0x7330d7adf261c69891e6ab08367d957e74d4044bc5d9cd06d656be9700000000;

    /// @notice Block 1's only transaction, its coinbase (merkle root of block 1 = its txid).
    bytes internal constant BLOCK1_COINBASE =
        hex"01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0704ffff001d0104ffffffff0100f2052a0100000043410496b538e853519c726a2c91e61ec11600ae1390813a627c66fb8be7947be63c52da7589379515d4e0a604f8141781e62294721166bf621e73a82cbf2342c858eeac00000000";

    /// @notice The first difficulty change: the first block of the period ending at 32255
    /// (height 30240, giving the period's start time), block 32255, and block 32256 with
    /// nBits 0x1d00d86a.
    bytes internal constant H30240 =
        hex"01000000e6bf7fd7f7790a63786faa878d0dc7fd8f2ff365732e45862c66075100000000700d342f65c7b6834dffb615358a1897016f0448913372190cbe3d27a4b53355b1512b4bffff001dbfb02519";
    bytes internal constant H32255 =
        hex"0100000049c1daab3b6536ff1b2633c3a316a6e06ec287676cdeec4ca7baae6b00000000ac10b36b8f354b3353207de15940a5edbc05bb8364af75b4b5409e7823f2b48923ec3a4bffff001dbd5fa412";
    bytes internal constant H32256 =
        hex"010000004b0360d834a330ec7833e30e1f523ee05a0793361e29a73421964f980000000027b64a020af294e903feed93768705336a20090612a043f47af462a2f5e5b564f8ee3a4b6ad8001dd3a43707";
    uint32 internal constant TIME_30240 = 1261130161;

    /// @notice A modern retarget (a decrease): first block of the period (864864), its last
    /// block (866879) and 866880 with nBits 0x1702f128.
    bytes internal constant H864864 =
        hex"0000003a5f00e7df93f80524b5d0bca74ae81577d8e937ab4b9201000000000000000000e44b8cd6f5baf8ddaa1284a4a6235f5ade7015ec93e9f8c92206ff7e034fe0f4cf260667cd0e0317d37b1c47";
    bytes internal constant H866879 =
        hex"00001022983c89b4d75d30477e574cfcaf078ed0e6757e4ecfd400000000000000000000af29e2d462f963e3fa4748a12ea2cc29cc8429db77e15db3903566bb49e9cbc0e2e81767cd0e03176f0ce81f";
    bytes internal constant H866880 =
        hex"00c06d33abfd7611d95588541b36cf913627c5e05fc8d9ec7d7c00000000000000000000437f827366461f1e5e8253ca36ae6fb3c5bb8b023d9bfb68eafb3991d7bb3e394de9176728f102177a39728a";
    uint32 internal constant TIME_864864 = 1728456399;
}
