// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @title PayeeListBuilder
/// @notice Builds payee lists for tests: (account, weight) records packed as the contract reads
/// them (20-byte account ‖ 16-byte big-endian weight), cut into pages and hash-chained from the
/// back with plain `abi.encodePacked` (independent of the contract's assembly).
library PayeeListBuilder {
    /// @notice A payee list as two arrays, accounts ascending.
    struct Payees {
        address[] accounts;
        uint256[] weights;
    }

    /// @notice `count` payees with accounts spread over the whole address space (ascending, and
    /// nearly every byte non-zero, as real addresses are) and weights in [2^60, 2^76), the
    /// range of an address's total window weight for share difficulties of about 2^28 to
    /// 2^44 (DESIGN item 2) over a window of thousands of shares. The same `salt` gives the
    /// same accounts.
    function synthetic(uint256 count, uint256 salt) internal pure returns (Payees memory p) {
        p.accounts = new address[](count);
        p.weights = new uint256[](count);
        uint256 step = type(uint160).max / (count + 1);
        for (uint256 i; i < count; ++i) {
            uint256 noise = uint256(keccak256(abi.encode("payee", salt, i)));
            // step * (i + 1) + (less than step / 2): strictly ascending, never zero.
            p.accounts[i] = address(uint160(step * (i + 1) + noise % (step / 2)));
            p.weights[i] = (uint256(1) << 60) + (noise >> 128) % ((uint256(1) << 76) - (uint256(1) << 60));
        }
    }

    /// @notice The packed list: each record account (20 bytes) ‖ weight (16 bytes).
    function encode(Payees memory p) internal pure returns (bytes memory list) {
        for (uint256 i; i < p.accounts.length; ++i) {
            list = bytes.concat(list, bytes20(p.accounts[i]), bytes16(uint128(p.weights[i])));
        }
    }

    /// @notice The packed list of `p`, built in place (for lists of thousands of records, where
    /// `encode`'s concatenation is quadratic). Same bytes as `encode`.
    function encodeLarge(Payees memory p) internal pure returns (bytes memory list) {
        uint256 count = p.accounts.length;
        list = new bytes(count * 36);
        for (uint256 i; i < count; ++i) {
            require(p.weights[i] < 2 ** 128, "PayeeListBuilder: weight above 16 bytes");
            address account = p.accounts[i];
            uint256 weight = p.weights[i];
            assembly ("memory-safe") {
                let at := add(add(list, 0x20), mul(i, 36))
                // The account word is then overwritten from byte 20 on by the weight word; the
                // last record's weight word runs 16 bytes past the list into free memory.
                mstore(at, shl(96, account))
                mstore(add(at, 20), shl(128, weight))
            }
        }
    }

    /// @notice The list cut into pages of `pageSize` records (the last shorter); the empty list
    /// is one empty page.
    function pages(bytes memory list, uint256 pageSize) internal pure returns (bytes[] memory out) {
        uint256 count = list.length / 36;
        uint256 pageCount = count == 0 ? 1 : (count + pageSize - 1) / pageSize;
        out = new bytes[](pageCount);
        for (uint256 k; k < pageCount; ++k) {
            uint256 first = k * pageSize;
            uint256 records = count - first < pageSize ? count - first : pageSize;
            out[k] = slice(list, first * 36, records * 36);
        }
    }

    /// @notice The chain hash at each page's first record: hashes[P] = 0, hashes[k] = the
    /// records of pages[k] folded from the back onto hashes[k + 1], one keccak256(record ‖ h)
    /// each (written apart from PayeeList.pageHash, in plain Solidity); hashes[0] is the list
    /// hash.
    function chain(bytes[] memory pageList) internal pure returns (bytes32[] memory hashes) {
        hashes = new bytes32[](pageList.length + 1);
        for (uint256 k = pageList.length; k > 0; --k) {
            hashes[k - 1] = fold(pageList[k - 1], hashes[k]);
        }
    }

    /// @notice The records of `page` folded from the back onto `next`: h = keccak256(record ‖ h).
    function fold(bytes memory page, bytes32 next) internal pure returns (bytes32 h) {
        h = next;
        for (uint256 j = page.length / 36; j > 0; --j) {
            h = keccak256(abi.encodePacked(slice(page, (j - 1) * 36, 36), h));
        }
    }

    /// @notice A copy of `length` bytes of `data` from `from`.
    function slice(bytes memory data, uint256 from, uint256 length) internal pure returns (bytes memory out) {
        out = new bytes(length);
        for (uint256 i; i < length; ++i) {
            out[i] = data[from + i];
        }
    }

    /// @notice The sum of the weights.
    function totalWeight(Payees memory p) internal pure returns (uint256 total) {
        for (uint256 i; i < p.weights.length; ++i) {
            total += p.weights[i];
        }
    }
}
