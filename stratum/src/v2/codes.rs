//! Stratum V2's flags and error codes (spec §5.3 and §6), named once for
//! both ends.

/// `SetupConnection` flag (mining protocol): the device wants standard
/// jobs only, no extended or group jobs.
pub const REQUIRES_STANDARD_JOBS: u32 = 1 << 0;
/// `SetupConnection` flag: the client will declare its own work (job
/// declaration): not offered by this pool yet.
pub const REQUIRES_WORK_SELECTION: u32 = 1 << 1;
/// `SetupConnection` flag: the device rolls version bits (BIP320).
pub const REQUIRES_VERSION_ROLLING: u32 = 1 << 2;
/// Flags this pool can honour.
pub const SUPPORTED_FLAGS: u32 = REQUIRES_STANDARD_JOBS | REQUIRES_VERSION_ROLLING;

/// The protocol version spoken.
pub const PROTOCOL_VERSION: u16 = 2;

/// `SetupConnection.Error`: flags the pool does not support (the answer's
/// flags say which).
pub const UNSUPPORTED_FEATURE_FLAGS: &str = "unsupported-feature-flags";
/// `SetupConnection.Error`: a sub-protocol other than mining.
pub const UNSUPPORTED_PROTOCOL: &str = "unsupported-protocol";
/// `SetupConnection.Error`: no version in common.
pub const PROTOCOL_VERSION_MISMATCH: &str = "protocol-version-mismatch";

/// `OpenMiningChannel.Error`: the user identity is not a payout address.
pub const UNKNOWN_USER: &str = "unknown-user";
/// `OpenMiningChannel.Error` / `UpdateChannel.Error`: the device's
/// maximum target is below what the pool can give.
pub const MAX_TARGET_OUT_OF_RANGE: &str = "max-target-out-of-range";
/// `OpenMiningChannel.Error`: the device wants more extranonce bytes than
/// the pool's coinbase has.
pub const MIN_EXTRANONCE_SIZE_TOO_LARGE: &str = "min-extranonce-size-too-large";
/// `OpenMiningChannel.Error`: an extended channel on a connection that
/// asked for standard jobs only, or a channel before `SetupConnection`.
pub const UNSUPPORTED_CHANNEL: &str = "unsupported-channel-type";
/// `OpenMiningChannel.Error`: the connection already has as many channels
/// as it may.
pub const TOO_MANY_CHANNELS: &str = "too-many-channels";

/// `SubmitShares.Error` / `UpdateChannel.Error`: not a channel of this connection.
pub const INVALID_CHANNEL_ID: &str = "invalid-channel-id";
/// `SubmitShares.Error`: a job of a previous block.
pub const STALE_SHARE: &str = "stale-share";
/// `SubmitShares.Error`: a job id this channel was never sent (or forgot).
pub const INVALID_JOB_ID: &str = "invalid-job-id";
/// `SubmitShares.Error`: the hash misses the channel's target.
pub const DIFFICULTY_TOO_LOW: &str = "difficulty-too-low";
/// `SubmitShares.Error`: the same share twice.
pub const DUPLICATE_SHARE: &str = "duplicate-share";
/// `SubmitShares.Error`: version bits outside BIP320's, an ntime out of
/// range or an extranonce of the wrong size.
pub const INVALID_SHARE: &str = "invalid-share";
/// `SubmitShares.Error`: the share could not be made durable.
pub const INTERNAL_ERROR: &str = "internal-error";
