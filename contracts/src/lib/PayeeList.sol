// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.28;

/// @title PayeeList
/// @notice The payee list of a settlement and its binding to the proof (settlement statement
/// v2, docs/settlement.md "The settlement statement"). The list holds one record per distinct
/// address of the window, in packed calldata:
///   record = account (20 bytes) ‖ weight (16 bytes, big-endian), 36 bytes
/// accounts strictly ascending (the first above zero), every weight at least 1 (W_a, the
/// address's total window weight, below 2^116). The records are hashed one by one, chained
/// from the back:
///   h_D = 0, h_j = keccak256(record_j ‖ h_{j+1}), listHash = h_0
/// so the list hash does not depend on how a long list is cut into pages: a page holding
/// records [s, e) travels with next = h_e and is checked against h_s as it arrives.
/// The circuit proves only the grouping of the window's slots by address, through a
/// log-derivative identity; its table side is evaluated here from the list:
///   beta = uint256(keccak256(windowRoot ‖ X ‖ listHash)) mod r
///   T    = sum_j W_j / (beta - A_j) mod r        (A_j = uint160(account_j))
/// and the proof's public inputs are [windowRoot, X, beta, T]. beta is drawn after the list is
/// fixed, so a list that is not the window's grouping matches the circuit's slot-side sum with
/// probability about 2N / r.
/// @dev Every function reads the list straight from calldata: a page of 512 records is 18 KiB,
/// and copying it to memory only to read it back would cost more than the reading. T is summed
/// as one fraction num / den (three mulmods per record) and divided once per page with the
/// modexp precompile, instead of one inversion per record.
library PayeeList {
    /// @notice The BN254 scalar field order r, the proof's field.
    uint256 internal constant FIELD_ORDER =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Bytes per record: account (20) and weight (16).
    uint256 internal constant RECORD_SIZE = 36;

    // ---------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------

    /// @notice The list or page is `length` bytes, not a whole number of 36-byte records.
    error PayeeListBadLength(uint256 length);

    /// @notice Record `index` (counted from the start of the whole list) has the account
    /// `account`, which is zero or not above the account before it.
    error PayeeListNotAscending(uint256 index, address account);

    /// @notice Record `index` (counted from the start of the whole list) has weight zero.
    error PayeeListZeroWeight(uint256 index, address account);

    /// @notice The challenge beta equals the account `account` of the list, so beta - A_j has
    /// no inverse. Happens with probability about D / 2^254 for a list of D payees: no proof
    /// exists for that statement.
    error PayeeListChallengeIsAnAccount(address account);

    // ---------------------------------------------------------------------------------------
    // Hashes
    // ---------------------------------------------------------------------------------------

    /// @notice The chain hash at a page's first record: the page's records folded from its last
    /// to its first, h = keccak256(record ‖ h), starting from `next` (the chain hash after the
    /// page; zero after the list's last record). For a whole list with next = 0 it is the list
    /// hash; for an empty page it is `next`.
    /// @dev Reverts with `PayeeListBadLength` unless the page is whole records. The page is
    /// copied to free memory once (without claiming it: scratch use, memory-safe); then, from
    /// the last record back, the running hash is written over the first 32 bytes of the record
    /// after (already hashed), so that record ‖ h lies contiguous: one mstore and one keccak256
    /// of 68 bytes per record.
    function pageHash(bytes calldata page, bytes32 next) internal pure returns (bytes32 hash) {
        if (page.length % RECORD_SIZE != 0) revert PayeeListBadLength(page.length);
        assembly ("memory-safe") {
            let buffer := mload(0x40)
            calldatacopy(buffer, page.offset, page.length)
            hash := next
            for { let at := add(buffer, page.length) } gt(at, buffer) {} {
                mstore(at, hash)
                at := sub(at, RECORD_SIZE)
                hash := keccak256(at, add(RECORD_SIZE, 0x20))
            }
        }
    }

    /// @notice beta = uint256(keccak256(abi.encodePacked(windowRoot, X, listHash))) mod r.
    /// @param windowRoot The window root committed in the coinbase (below r).
    /// @param weightCommitment X, the circuit's commitment to the slots' weights (below r).
    /// @param listHash h_0 of the list's record chain.
    function challenge(bytes32 windowRoot, uint256 weightCommitment, bytes32 listHash)
        internal
        pure
        returns (uint256 beta)
    {
        return uint256(keccak256(abi.encodePacked(windowRoot, weightCommitment, listHash))) % FIELD_ORDER;
    }

    // ---------------------------------------------------------------------------------------
    // Records
    // ---------------------------------------------------------------------------------------

    /// @notice The record that starts `offset` bytes into `list` (a multiple of 36, below the
    /// list's length; not checked).
    /// @return account The record's 20-byte account.
    /// @return weight The record's 16-byte weight, below 2^128.
    function recordAt(bytes calldata list, uint256 offset) internal pure returns (address account, uint256 weight) {
        assembly ("memory-safe") {
            let at := add(list.offset, offset)
            // The word at the record's start holds the account in its top 20 bytes; the word
            // 20 bytes further holds the weight in its top 16 bytes.
            account := shr(96, calldataload(at))
            weight := shr(128, calldataload(add(at, 20)))
        }
    }

    /// @notice Checks one page and evaluates its part of the table sum.
    /// @dev Reverts with `PayeeListBadLength` when the page is not whole records,
    /// `PayeeListNotAscending` when an account is not above the one before it (`previous` for
    /// the page's first record: the last account of the pages before, zero for the first page),
    /// `PayeeListZeroWeight` for a zero weight, `PayeeListChallengeIsAnAccount` when beta is one
    /// of the accounts. Indices in errors are `firstIndex` plus the record's place in the page.
    /// @param page Whole records, continuing the list after `previous`.
    /// @param beta The challenge (below r).
    /// @param previous The account before the page's first record (zero: none).
    /// @param firstIndex How many records precede the page in the list (for errors).
    /// @return tableSum sum_j W_j / (beta - A_j) over the page's records, mod r.
    /// @return totalWeight sum_j W_j over the page's records (below 2^128 per record).
    /// @return last The page's last account (`previous` for an empty page).
    function check(bytes calldata page, uint256 beta, address previous, uint256 firstIndex)
        internal
        view
        returns (uint256 tableSum, uint256 totalWeight, address last)
    {
        if (page.length % RECORD_SIZE != 0) revert PayeeListBadLength(page.length);
        if (page.length == 0) return (0, 0, previous);

        // The page's sum as one fraction num / den: adding W / d to num / den gives
        // (num * d + W * den) / (den * d). r is prime, so den is zero iff some d is, i.e. iff
        // beta is one of the accounts (beta and A_j are both below r). `tableSum` holds num
        // until the division.
        uint256 den = 1;
        uint256 failedAt = 0; // calldata offset of the first bad record, 0 if none
        last = previous;
        assembly ("memory-safe") {
            let end := add(page.offset, page.length)
            for { let at := page.offset } lt(at, end) { at := add(at, RECORD_SIZE) } {
                let account := shr(96, calldataload(at))
                let weight := shr(128, calldataload(add(at, 20)))
                // Strictly ascending (so non-zero: `last` starts at zero or above) and W >= 1.
                if or(iszero(gt(account, last)), iszero(weight)) {
                    failedAt := at
                    break
                }
                last := account
                // Cannot overflow: below 2^128 per record, and calldata holds far fewer than
                // 2^128 records.
                totalWeight := add(totalWeight, weight)
                // d = beta - A_j mod r; A_j < 2^160 < r, so r - A_j is in range.
                let d := addmod(beta, sub(FIELD_ORDER, account), FIELD_ORDER)
                tableSum := addmod(mulmod(tableSum, d, FIELD_ORDER), mulmod(weight, den, FIELD_ORDER), FIELD_ORDER)
                den := mulmod(den, d, FIELD_ORDER)
            }
        }
        if (failedAt != 0) _revertAt(page, failedAt - _offsetOf(page), previous, firstIndex);
        if (den == 0) revert PayeeListChallengeIsAnAccount(address(uint160(beta)));
        tableSum = mulmod(tableSum, inverse(den), FIELD_ORDER);
    }

    // ---------------------------------------------------------------------------------------
    // Field arithmetic
    // ---------------------------------------------------------------------------------------

    /// @notice x^(r - 2) mod r, the inverse of x (non-zero, below r) by Fermat's little theorem,
    /// with the modexp precompile. Returns 0 for x = 0.
    function inverse(uint256 x) internal view returns (uint256 result) {
        assembly ("memory-safe") {
            let input := mload(0x40)
            mstore(input, 0x20) // base length
            mstore(add(input, 0x20), 0x20) // exponent length
            mstore(add(input, 0x40), 0x20) // modulus length
            mstore(add(input, 0x60), x)
            mstore(add(input, 0x80), sub(FIELD_ORDER, 2))
            mstore(add(input, 0xa0), FIELD_ORDER)
            // The modexp precompile at 0x05 (EIP-198; EIP-2565 prices a 32-byte base, exponent
            // and modulus at about 1,350 gas). It exists on every EVM chain since Byzantium and
            // fails only when given too little gas; then nothing was computed: stop.
            if iszero(staticcall(gas(), 0x05, input, 0xc0, input, 0x20)) { revert(0, 0) }
            result := mload(input)
        }
    }

    // ---------------------------------------------------------------------------------------
    // Private
    // ---------------------------------------------------------------------------------------

    function _offsetOf(bytes calldata page) private pure returns (uint256 offset) {
        assembly ("memory-safe") {
            offset := page.offset
        }
    }

    /// @dev Reverts with the error of the bad record `offset` bytes into `page`.
    function _revertAt(bytes calldata page, uint256 offset, address previous, uint256 firstIndex) private pure {
        (address account, uint256 weight) = recordAt(page, offset);
        uint256 index = firstIndex + offset / RECORD_SIZE;
        address before = offset == 0 ? previous : address(0);
        if (offset != 0) (before,) = recordAt(page, offset - RECORD_SIZE);
        if (account <= before) revert PayeeListNotAscending(index, account);
        if (weight == 0) revert PayeeListZeroWeight(index, account);
    }
}
