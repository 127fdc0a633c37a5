//! The store's side of the charts' time series (`crate::history`): reading
//! a chunk back, writing the recorder's changed chunks, serving a range and
//! dropping what is past retention.

use crate::history::{chunk_key, points, resolution_prefix, Chunk, Point, Resolution, Series};

use super::{Store, StoreError};

impl Store {
    /// The stored chunk `index` of `series` at `resolution`, if any.
    ///
    /// # Errors
    /// [`StoreError`] when sled fails or the chunk is corrupt.
    pub fn history_chunk(
        &self,
        resolution: Resolution,
        series: Series,
        index: u64,
    ) -> Result<Option<Chunk>, StoreError> {
        match self.history.get(chunk_key(resolution, series, index))? {
            Some(v) => Ok(Some(Chunk::decode(resolution, index, &v)?)),
            None => Ok(None),
        }
    }

    /// Writes chunks (the recorder's `take_dirty`). Flushed only when
    /// `flush` says so (at shutdown); otherwise the ledger's next commit
    /// flushes them with its shares (the series are derived data: a crash
    /// loses at most the last few seconds' counts).
    ///
    /// # Errors
    /// [`StoreError`] when sled fails.
    pub fn write_history(
        &self,
        chunks: Vec<(Vec<u8>, Vec<u8>)>,
        flush: bool,
    ) -> Result<(), StoreError> {
        if !chunks.is_empty() {
            let mut batch = sled::Batch::default();
            for (k, v) in chunks {
                batch.insert(k, v);
            }
            self.history.apply_batch(batch)?;
        }
        if flush {
            self.history.flush()?;
        }
        Ok(())
    }

    /// `series` at `resolution` from `from` to `to` (Unix seconds), one
    /// point per bucket, zero-filled.
    ///
    /// # Errors
    /// [`StoreError`] when sled fails or a chunk is corrupt.
    pub fn history(
        &self,
        resolution: Resolution,
        series: Series,
        from: u64,
        to: u64,
    ) -> Result<Vec<Point>, StoreError> {
        let per = resolution.chunk_secs();
        let start = chunk_key(resolution, series, from / per);
        let end = chunk_key(resolution, series, to / per);
        let mut chunks = Vec::new();
        for item in self.history.range(start..=end) {
            let (k, v) = item?;
            let index = u64::from_be_bytes(k[k.len() - 8..].try_into().expect("8-byte index"));
            chunks.push(Chunk::decode(resolution, index, &v)?);
        }
        Ok(points(resolution, &chunks, from, to))
    }

    /// Removes the chunks that ended more than their resolution's retention
    /// before `now`. Visits each series once and only its expired chunks.
    ///
    /// # Errors
    /// [`StoreError`] when sled fails.
    pub fn prune_history(&self, now: u64) -> Result<u64, StoreError> {
        let mut removed = 0;
        for resolution in Resolution::ALL {
            let Some(cutoff) = now.checked_sub(resolution.retention_secs()) else {
                continue;
            };
            // Chunks with an index below this ended before the cutoff.
            let keep_from = cutoff / resolution.chunk_secs();
            let prefix = resolution_prefix(resolution);
            let mut cursor: Vec<u8> = prefix.to_vec();
            loop {
                let Some(item) = self.history.range(cursor.clone()..).next() else {
                    break;
                };
                let (k, _) = item?;
                if !k.starts_with(&prefix) {
                    break;
                }
                let series_len = k.len() - 8;
                let series = k[..series_len].to_vec();
                let mut batch = sled::Batch::default();
                let mut keep = series.clone();
                keep.extend_from_slice(&keep_from.to_be_bytes());
                for old in self.history.range(series.clone()..keep) {
                    batch.remove(old?.0);
                    removed += 1;
                }
                self.history.apply_batch(batch)?;
                // The next series: past every index of this one.
                cursor = series;
                cursor.extend_from_slice(&[0xff; 9]);
            }
        }
        Ok(removed)
    }

    /// Bytes the store takes on disk (all trees).
    ///
    /// # Errors
    /// [`StoreError`] when sled fails.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Recorder;
    use share_verifier::Address;

    #[test]
    fn series_survive_a_reopen_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let t = 1_800_000_000 - 1_800_000_000 % 86_400;
        let a = Series::Address(Address([7; 20]));
        {
            let store = Store::open(dir.path(), 4).unwrap();
            let mut r = Recorder::default();
            let mut load = |res, s, i| store.history_chunk(res, s, i).unwrap();
            r.add(a, t + 30, 600.0, &mut load);
            r.add(Series::Pool, t + 30, 600.0, &mut load);
            store.write_history(r.take_dirty(t + 30), true).unwrap();
        }
        let store = Store::open(dir.path(), 4).unwrap();
        // A restart in the same minute continues the stored chunk.
        let mut r = Recorder::default();
        let mut load = |res, s, i| store.history_chunk(res, s, i).unwrap();
        r.add(a, t + 40, 600.0, &mut load);
        store.write_history(r.take_dirty(t + 40), false).unwrap();
        let p = store.history(Resolution::Minute, a, t, t + 119).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].shares, p[0].hashrate), (2, 20.0));
        let h = store.history(Resolution::Hour, a, t, t).unwrap();
        assert_eq!(h[0].shares, 2);
        assert_eq!(
            store
                .history(Resolution::Minute, Series::Pool, t, t)
                .unwrap()[0]
                .shares,
            1
        );

        // Eight days later the minutes are gone, the hours kept.
        let removed = store.prune_history(t + 8 * 86_400).unwrap();
        assert_eq!(removed, 2, "the address's and the pool's minute chunk");
        assert_eq!(
            store.history(Resolution::Minute, a, t, t).unwrap()[0].shares,
            0
        );
        assert_eq!(
            store.history(Resolution::Hour, a, t, t).unwrap()[0].shares,
            2
        );
        assert_eq!(store.prune_history(t + 400 * 86_400).unwrap(), 2);
    }
}
