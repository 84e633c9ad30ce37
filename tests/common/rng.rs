//! Seeded random delays for the kill tests.

/// Kills per kill test: `FUST_KILLS`, default 20.
pub fn kills() -> usize {
    std::env::var("FUST_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// splitmix64: small, seedable, good enough for delays.
pub struct Rng(u64);

impl Rng {
    /// Seeded from the clock, or from `FUST_KILL_SEED` to replay a failure (printed).
    pub fn new(kind: &str) -> Rng {
        let seed = std::env::var("FUST_KILL_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("{kind}: seed {seed} (replay with FUST_KILL_SEED={seed})");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
