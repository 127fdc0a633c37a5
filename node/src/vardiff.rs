//! Variable difficulty per connection: steer each miner to one share every
//! `target_share_secs`, whatever its hash rate.
//!
//! A pure state machine: time is an argument (`now`), so tests drive it
//! without sleeping. The session calls [`Vardiff::on_share`] for every
//! accepted share and [`Vardiff::on_tick`] on every new job (which catches
//! miners too slow to submit at all); a returned difficulty is sent as
//! `mining.set_difficulty` followed by a fresh job.
//!
//! New connections retarget fast (after 4 shares, steps up to ×16) so a CPU
//! miner sees shares within seconds and an ASIC leaves a low start
//! difficulty after a handful of shares; settled connections retarget every
//! `retarget_secs` or 16 shares with steps of at most ×4.

use std::time::{Duration, Instant};

use share_verifier::Difficulty;

/// Vardiff parameters.
#[derive(Debug, Clone, Copy)]
pub struct VardiffConfig {
    /// Seconds between shares aimed at.
    pub target_share_secs: f64,
    /// Difficulty of a new connection.
    pub start: Difficulty,
    /// Lowest difficulty.
    pub min: Difficulty,
    /// Highest difficulty.
    pub max: Difficulty,
    /// Seconds between retargets once settled.
    pub retarget_secs: f64,
}

/// Retargets counted as "new connection".
const FAST_RETARGETS: u32 = 3;
/// Shares that trigger a fast retarget.
const FAST_SHARES: u32 = 4;
/// Shares that trigger a retarget once settled (a miner far too fast).
const SETTLED_SHARES: u32 = 16;
/// Largest step of a fast retarget.
const FAST_STEP: f64 = 16.0;
/// Largest step once settled.
const SETTLED_STEP: f64 = 4.0;
/// Changes smaller than this ratio are not worth a message.
const HYSTERESIS: f64 = 1.25;

/// One connection's vardiff state.
#[derive(Debug, Clone)]
pub struct Vardiff {
    config: VardiffConfig,
    /// The lowest difficulty this miner accepts (`minimum-difficulty`), at least the pool's.
    floor: f64,
    difficulty: f64,
    since: Instant,
    shares: u32,
    retargets: u32,
}

impl Vardiff {
    /// A new connection's state at the configured start difficulty.
    pub fn new(config: VardiffConfig, now: Instant) -> Self {
        Vardiff {
            config,
            floor: config.min.as_f64(),
            difficulty: config
                .start
                .as_f64()
                .clamp(config.min.as_f64(), config.max.as_f64()),
            since: now,
            shares: 0,
            retargets: 0,
        }
    }

    /// The current difficulty.
    pub fn difficulty(&self) -> Difficulty {
        Difficulty::new(self.difficulty).expect("kept within the positive [min, max]")
    }

    /// Sets the difficulty a miner asked for (`suggest_difficulty`, `d=`),
    /// clamped to `[floor, max]`; restarts the measurement.
    pub fn suggest(&mut self, requested: f64, now: Instant) -> Difficulty {
        if requested.is_finite() && requested > 0.0 {
            self.difficulty = requested.clamp(self.floor, self.config.max.as_f64());
            self.since = now;
            self.shares = 0;
        }
        self.difficulty()
    }

    /// Raises the floor (`mining.configure` `minimum-difficulty`).
    pub fn set_floor(&mut self, minimum: f64, now: Instant) -> Difficulty {
        if minimum.is_finite() && minimum > 0.0 {
            self.floor = minimum.clamp(self.config.min.as_f64(), self.config.max.as_f64());
            if self.difficulty < self.floor {
                self.suggest(self.floor, now);
            }
        }
        self.difficulty()
    }

    /// Counts an accepted share; returns the new difficulty when it is time to retarget.
    pub fn on_share(&mut self, now: Instant) -> Option<Difficulty> {
        self.shares += 1;
        let elapsed = now.saturating_duration_since(self.since);
        let fast = self.retargets < FAST_RETARGETS;
        let due = if fast {
            self.shares >= FAST_SHARES
        } else {
            self.shares >= SETTLED_SHARES
                || elapsed >= Duration::from_secs_f64(self.config.retarget_secs)
        };
        if due {
            self.retarget(now, elapsed, f64::from(self.shares))
        } else {
            None
        }
    }

    /// Checks a miner that submits too rarely; returns a lower difficulty
    /// when it has been silent for several target intervals.
    pub fn on_tick(&mut self, now: Instant) -> Option<Difficulty> {
        let elapsed = now.saturating_duration_since(self.since);
        let patience = if self.retargets < FAST_RETARGETS {
            3.0 * self.config.target_share_secs
        } else {
            self.config
                .retarget_secs
                .max(3.0 * self.config.target_share_secs)
        };
        if elapsed.as_secs_f64() < patience
            || f64::from(self.shares) * self.config.target_share_secs >= elapsed.as_secs_f64()
        {
            return None;
        }
        // Half a share is the best guess for "none yet".
        self.retarget(now, elapsed, f64::from(self.shares).max(0.5))
    }

    fn retarget(&mut self, now: Instant, elapsed: Duration, shares: f64) -> Option<Difficulty> {
        let step = if self.retargets < FAST_RETARGETS {
            FAST_STEP
        } else {
            SETTLED_STEP
        };
        let seconds = elapsed.as_secs_f64().max(0.05);
        let ideal = self.difficulty * shares / seconds * self.config.target_share_secs;
        let new = ideal
            .clamp(self.difficulty / step, self.difficulty * step)
            .clamp(self.floor, self.config.max.as_f64());
        self.since = now;
        self.shares = 0;
        self.retargets = self.retargets.saturating_add(1);
        let ratio = new / self.difficulty;
        if (1.0 / HYSTERESIS..HYSTERESIS).contains(&ratio) {
            return None;
        }
        self.difficulty = new;
        Some(self.difficulty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> VardiffConfig {
        VardiffConfig {
            target_share_secs: 10.0,
            start: Difficulty::new(0.005).unwrap(),
            min: Difficulty::new(1e-9).unwrap(),
            max: Difficulty::new(1e15).unwrap(),
            retarget_secs: 60.0,
        }
    }

    /// Simulates a miner of `hashrate` H/s for `seconds`; returns the final difficulty.
    fn simulate(hashrate: f64, seconds: f64) -> f64 {
        let t0 = Instant::now();
        let mut v = Vardiff::new(config(), t0);
        let mut t = 0.0;
        while t < seconds {
            // Expected time to a share at the current difficulty.
            t += v.difficulty().as_f64() * 4_294_967_296.0 / hashrate;
            v.on_share(t0 + Duration::from_secs_f64(t));
        }
        v.difficulty().as_f64()
    }

    #[test]
    fn a_cpu_miner_settles_near_ten_seconds_per_share() {
        // 10 MH/s: one share per 10 s is difficulty 0.0233.
        let d = simulate(10e6, 3600.0);
        assert!((0.0233 / 2.0..0.0233 * 2.0).contains(&d), "{d}");
        // Its first share comes after about 2 s at the start difficulty.
        assert!(config().start.as_f64() * 4_294_967_296.0 / 10e6 < 3.0);
    }

    #[test]
    fn an_asic_leaves_the_start_difficulty_within_a_few_dozen_shares() {
        // 100 TH/s: one share per 10 s is difficulty ~232,831.
        let t0 = Instant::now();
        let mut v = Vardiff::new(config(), t0);
        let mut t = 0.0;
        let mut shares = 0;
        while v.difficulty().as_f64() < 232_831.0 / 4.0 {
            t += v.difficulty().as_f64() * 4_294_967_296.0 / 100e12;
            v.on_share(t0 + Duration::from_secs_f64(t));
            shares += 1;
            assert!(shares < 120, "stuck at {}", v.difficulty());
        }
    }

    #[test]
    fn a_silent_miner_is_lowered_on_ticks_and_steps_are_bounded() {
        let t0 = Instant::now();
        let mut v = Vardiff::new(config(), t0);
        assert_eq!(v.on_tick(t0 + Duration::from_secs(5)), None);
        // No share in 31 s: about half a share's worth of time, at most ×16 lower.
        let d = v.on_tick(t0 + Duration::from_secs(31)).unwrap().as_f64();
        assert!((d - 0.005 * 0.5 / 31.0 * 10.0).abs() < 1e-12, "{d}");
        let d = v
            .on_tick(t0 + Duration::from_secs(10_000))
            .unwrap()
            .as_f64();
        assert!((d - 0.005 * 0.5 / 31.0 * 10.0 / 16.0).abs() < 1e-12, "{d}");
    }

    #[test]
    fn suggestions_are_clamped_to_the_floor_and_max() {
        let t0 = Instant::now();
        let mut v = Vardiff::new(config(), t0);
        assert_eq!(v.suggest(1e20, t0).as_f64(), 1e15);
        v.set_floor(1.0, t0);
        assert_eq!(v.suggest(0.5, t0).as_f64(), 1.0);
        assert_eq!(v.suggest(f64::NAN, t0).as_f64(), 1.0);
    }
}
