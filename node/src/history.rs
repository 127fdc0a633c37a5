//! Time series of accepted work for the charts: per minute and per hour,
//! pool-wide and per payout address, kept in the store with bounded
//! retention (a week of minutes, a year of hours).
//!
//! A series is cut into chunks, one stored value each: an hour of minute
//! buckets, or a day of hour buckets. A bucket is 8 bytes (shares as `u32`,
//! work as `f32` in expected hashes), so a minute chunk is 480 bytes and a
//! week of one address's minutes is 168 of them (80 KiB). The
//! [`Recorder`] holds the open chunk of each active series and hands out
//! the changed ones to be written; it decides nothing about I/O (the ledger
//! loads a chunk it does not hold and writes what `take_dirty` returns),
//! so unit tests drive it alone. The store reads ranges back
//! (`Store::history`) and drops expired chunks (`Store::prune_history`).

use std::collections::{HashMap, HashSet};

use share_verifier::Address;

/// Whose work a series counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Series {
    /// Every accepted share.
    Pool,
    /// The shares of one payout address.
    Address(Address),
}

/// A series' bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// One-minute buckets, kept [`Resolution::retention_secs`] (a week).
    Minute,
    /// One-hour buckets, kept a year.
    Hour,
}

impl Resolution {
    /// Both resolutions, in key order.
    pub const ALL: [Resolution; 2] = [Resolution::Minute, Resolution::Hour];

    /// Seconds per bucket.
    pub const fn bucket_secs(self) -> u64 {
        match self {
            Resolution::Minute => 60,
            Resolution::Hour => 3600,
        }
    }

    /// Buckets per stored chunk: an hour of minutes, a day of hours.
    pub const fn buckets_per_chunk(self) -> usize {
        match self {
            Resolution::Minute => 60,
            Resolution::Hour => 24,
        }
    }

    /// Seconds per chunk.
    pub const fn chunk_secs(self) -> u64 {
        self.bucket_secs() * self.buckets_per_chunk() as u64
    }

    /// How long its chunks are kept: a week of minutes, a year (and a day)
    /// of hours.
    pub const fn retention_secs(self) -> u64 {
        match self {
            Resolution::Minute => 7 * 86_400,
            Resolution::Hour => 366 * 86_400,
        }
    }

    fn tag(self) -> u8 {
        match self {
            Resolution::Minute => b'm',
            Resolution::Hour => b'h',
        }
    }
}

/// One bucket: how many shares, and their work (expected hashes: the sum of
/// their weights).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bucket {
    /// Accepted shares.
    pub shares: u32,
    /// Their work in expected hashes (`f32`: a chart's precision).
    pub work: f32,
}

/// Bytes per stored bucket.
const BUCKET_BYTES: usize = 8;

/// A chunk's buckets, as stored: `shares` (u32 LE) then `work` (f32 LE) per
/// bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The chunk's index: Unix time / [`Resolution::chunk_secs`].
    pub index: u64,
    /// Its buckets, oldest first.
    pub buckets: Vec<Bucket>,
}

/// A stored chunk whose length is not the resolution's.
#[derive(Debug, thiserror::Error)]
#[error("history chunk of {len} bytes, expected {expected}")]
pub struct ChunkError {
    /// Its length.
    pub len: usize,
    /// The resolution's chunk length.
    pub expected: usize,
}

impl Chunk {
    /// An empty chunk.
    pub fn empty(resolution: Resolution, index: u64) -> Self {
        Chunk {
            index,
            buckets: vec![Bucket::default(); resolution.buckets_per_chunk()],
        }
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buckets.len() * BUCKET_BYTES);
        for b in &self.buckets {
            out.extend_from_slice(&b.shares.to_le_bytes());
            out.extend_from_slice(&b.work.to_le_bytes());
        }
        out
    }

    /// Reads a stored chunk.
    ///
    /// # Errors
    /// [`ChunkError`] when `bytes` is not one chunk of `resolution`.
    pub fn decode(resolution: Resolution, index: u64, bytes: &[u8]) -> Result<Self, ChunkError> {
        let expected = resolution.buckets_per_chunk() * BUCKET_BYTES;
        if bytes.len() != expected {
            return Err(ChunkError {
                len: bytes.len(),
                expected,
            });
        }
        let buckets = bytes
            .chunks_exact(BUCKET_BYTES)
            .map(|b| Bucket {
                shares: u32::from_le_bytes(b[..4].try_into().expect("4 bytes")),
                work: f32::from_le_bytes(b[4..].try_into().expect("4 bytes")),
            })
            .collect();
        Ok(Chunk { index, buckets })
    }
}

/// The key of a chunk: resolution tag, series (`0`, or `1` and the 20-byte
/// address), chunk index (u64 BE): a series' chunks are contiguous and in
/// time order, so a range of time is one key range.
pub fn chunk_key(resolution: Resolution, series: Series, index: u64) -> Vec<u8> {
    let mut k = series_prefix(resolution, series);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// The key prefix of every chunk of a series.
pub fn series_prefix(resolution: Resolution, series: Series) -> Vec<u8> {
    let mut k = Vec::with_capacity(30);
    k.push(resolution.tag());
    match series {
        Series::Pool => k.push(0),
        Series::Address(a) => {
            k.push(1);
            k.extend_from_slice(&a.0);
        }
    }
    k
}

/// The key prefix of every chunk of a resolution.
pub fn resolution_prefix(resolution: Resolution) -> [u8; 1] {
    [resolution.tag()]
}

/// One point of a served series.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Point {
    /// The bucket's start, Unix seconds.
    pub t: u64,
    /// Accepted shares.
    pub shares: u32,
    /// Their work, expected hashes.
    pub work: f64,
    /// Work per second over the bucket (H/s).
    pub hashrate: f64,
}

/// The buckets of `chunks` (any order, possibly sparse) from `from` to `to`
/// (Unix seconds, bucket starts rounded down), one point per bucket, zero
/// where no chunk holds it.
pub fn points(resolution: Resolution, chunks: &[Chunk], from: u64, to: u64) -> Vec<Point> {
    let secs = resolution.bucket_secs();
    let per = resolution.buckets_per_chunk() as u64;
    let by_index: HashMap<u64, &Chunk> = chunks.iter().map(|c| (c.index, c)).collect();
    let (first, last) = (from / secs, to / secs);
    (first..=last)
        .map(|bucket| {
            let b = by_index
                .get(&(bucket / per))
                .map(|c| c.buckets[(bucket % per) as usize])
                .unwrap_or_default();
            Point {
                t: bucket * secs,
                shares: b.shares,
                work: f64::from(b.work),
                hashrate: f64::from(b.work) / secs as f64,
            }
        })
        .collect()
}

/// The open chunks of the active series and which changed since the last
/// write.
#[derive(Debug, Default)]
pub struct Recorder {
    open: HashMap<(Resolution, Series), Chunk>,
    dirty: HashSet<(Resolution, Series)>,
}

impl Recorder {
    /// Adds one share of `work` at Unix time `now` to `series` at both
    /// resolutions. `load` returns the stored chunk for a (resolution,
    /// series, index) the recorder does not hold (after a restart, the hour
    /// already has minutes).
    pub fn add(
        &mut self,
        series: Series,
        now: u64,
        work: f64,
        load: &mut impl FnMut(Resolution, Series, u64) -> Option<Chunk>,
    ) {
        for resolution in Resolution::ALL {
            let index = now / resolution.chunk_secs();
            let chunk = self
                .open
                .entry((resolution, series))
                .or_insert_with(|| Chunk::empty(resolution, u64::MAX));
            if chunk.index != index {
                *chunk = load(resolution, series, index)
                    .unwrap_or_else(|| Chunk::empty(resolution, index));
            }
            let at = (now % resolution.chunk_secs()) / resolution.bucket_secs();
            let b = &mut chunk.buckets[at as usize];
            b.shares = b.shares.saturating_add(1);
            b.work += work as f32;
            self.dirty.insert((resolution, series));
        }
    }

    /// The chunks changed since the last call, as (key, value) to write;
    /// then forgets the chunks that ended before `now`, which no share can
    /// reach any more.
    pub fn take_dirty(&mut self, now: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        let out = self
            .dirty
            .drain()
            .filter_map(|(resolution, series)| {
                let chunk = self.open.get(&(resolution, series))?;
                Some((chunk_key(resolution, series, chunk.index), chunk.encode()))
            })
            .collect();
        self.open
            .retain(|(resolution, _), chunk| chunk.index >= now / resolution.chunk_secs());
        out
    }

    /// Open chunks held (one per active series and resolution).
    pub fn open_chunks(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u8) -> Address {
        Address([n; 20])
    }

    #[test]
    fn chunk_round_trips_and_rejects_wrong_lengths() {
        let mut c = Chunk::empty(Resolution::Minute, 7);
        c.buckets[3] = Bucket {
            shares: 5,
            work: 1.5e12,
        };
        let bytes = c.encode();
        assert_eq!(bytes.len(), 480);
        assert_eq!(Chunk::decode(Resolution::Minute, 7, &bytes).unwrap(), c);
        assert!(Chunk::decode(Resolution::Hour, 7, &bytes).is_err());
        assert!(Chunk::decode(Resolution::Minute, 7, &bytes[1..]).is_err());
    }

    #[test]
    fn keys_order_a_series_by_time_and_keep_series_apart() {
        let a = chunk_key(Resolution::Minute, Series::Address(addr(1)), 5);
        let b = chunk_key(Resolution::Minute, Series::Address(addr(1)), 6);
        let c = chunk_key(Resolution::Minute, Series::Address(addr(2)), 0);
        let pool = chunk_key(Resolution::Minute, Series::Pool, u64::MAX);
        assert!(a < b && b < c);
        assert!(pool < a);
        assert!(a.starts_with(&series_prefix(Resolution::Minute, Series::Address(addr(1)))));
        assert!(!chunk_key(Resolution::Hour, Series::Pool, 0)
            .starts_with(&resolution_prefix(Resolution::Minute)));
    }

    #[test]
    fn recorder_counts_both_resolutions_and_writes_only_what_changed() {
        let mut r = Recorder::default();
        let mut none = |_, _, _| None;
        let t = 1_700_000_000 - 1_700_000_000 % 3600; // an hour's start
        r.add(Series::Pool, t + 61, 10.0, &mut none);
        r.add(Series::Pool, t + 119, 5.0, &mut none);
        r.add(Series::Address(addr(1)), t + 119, 5.0, &mut none);
        let written = r.take_dirty(t + 120);
        assert_eq!(written.len(), 4, "two series at two resolutions");
        let minute = written
            .iter()
            .find(|(k, _)| *k == chunk_key(Resolution::Minute, Series::Pool, t / 3600))
            .unwrap();
        let c = Chunk::decode(Resolution::Minute, t / 3600, &minute.1).unwrap();
        assert_eq!(
            c.buckets[1],
            Bucket {
                shares: 2,
                work: 15.0
            }
        );
        assert_eq!(c.buckets[0], Bucket::default());
        assert!(r.take_dirty(t + 120).is_empty(), "nothing changed since");
        r.add(Series::Pool, t + 130, 1.0, &mut none);
        assert_eq!(r.take_dirty(t + 130).len(), 2);
    }

    #[test]
    fn recorder_continues_a_stored_chunk_after_a_restart_and_forgets_ended_ones() {
        let t = 1_700_000_000 - 1_700_000_000 % 86_400;
        let mut stored = Chunk::empty(Resolution::Minute, t / 3600);
        stored.buckets[0] = Bucket {
            shares: 3,
            work: 3.0,
        };
        let mut loads = 0;
        let mut load = |res: Resolution, _, index| {
            loads += 1;
            (res == Resolution::Minute && index == t / 3600).then(|| stored.clone())
        };
        let mut r = Recorder::default();
        r.add(Series::Pool, t + 5, 1.0, &mut load);
        r.add(Series::Pool, t + 6, 1.0, &mut load);
        assert_eq!(loads, 2, "each resolution's chunk loaded once");
        let written = r.take_dirty(t + 6);
        let (_, v) = written.iter().find(|(k, _)| k[0] == b'm').unwrap();
        let c = Chunk::decode(Resolution::Minute, t / 3600, v).unwrap();
        assert_eq!(
            c.buckets[0],
            Bucket {
                shares: 5,
                work: 5.0
            }
        );
        assert_eq!(r.open_chunks(), 2);
        // An hour later the minute chunk has ended; the day's has not.
        r.take_dirty(t + 3600);
        assert_eq!(r.open_chunks(), 1);
    }

    #[test]
    fn points_are_dense_over_the_range() {
        let mut c = Chunk::empty(Resolution::Minute, 10);
        c.buckets[59] = Bucket {
            shares: 2,
            work: 120.0,
        };
        let from = 10 * 3600 + 58 * 60;
        let p = points(Resolution::Minute, &[c], from + 30, from + 3 * 60);
        assert_eq!(p.len(), 4);
        assert_eq!(p[0].t, from);
        assert_eq!(p[1].shares, 2);
        assert_eq!(p[1].hashrate, 2.0);
        assert_eq!(p[2].shares + p[3].shares, 0);
    }
}
