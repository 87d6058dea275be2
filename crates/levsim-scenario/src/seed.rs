//! Per-run seeds: a function of the scenario seed and the run's key only.

/// FNV-1a 64-bit hash of a string (stable across platforms and releases).
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64 finalizer: a bijective mix of 64 bits.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of the run with key `run_key` in a scenario seeded `scenario_seed`.
/// It never depends on the run's position, shard or thread.
pub fn run_seed(scenario_seed: u64, run_key: &str) -> u64 {
    splitmix64(scenario_seed ^ splitmix64(fnv1a(run_key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_depend_on_key_and_scenario_seed_only() {
        assert_eq!(
            run_seed(7, "static[leverage=2]"),
            run_seed(7, "static[leverage=2]")
        );
        assert_ne!(
            run_seed(7, "static[leverage=2]"),
            run_seed(8, "static[leverage=2]")
        );
        assert_ne!(
            run_seed(7, "static[leverage=2]"),
            run_seed(7, "static[leverage=3]")
        );
        // Reference value of FNV-1a for "a" (published test vector).
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
