//! Sorted liquidation indexes: a price move costs O(k log N) for the k
//! accounts it crosses, not O(N).
//!
//! Every account's liquidation condition reduces to one static key per
//! maintenance group. With maintenance `rate·q·p − cum` and the funding and
//! socialized-loss history folded into a per-side offset `o` (quote per
//! unit), a long is liquidated when
//! `p ≤ (key + o)/(1 − rate)`, i.e. `key ≥ p·(1 − rate) − o`, with
//! `key = E − (C + cum)/q − o_entry`; a short when `key ≤ p·(1 + rate) − o`
//! with `key = E + (C + cum)/q − o_entry`. Funding moves `o` for everyone at
//! once and a volatility-scaled rate moves the threshold, neither the keys,
//! so each (group, side) keeps its accounts in one sorted vector with a
//! cursor; accounts re-keyed by a partial liquidation or ADL go to a heap,
//! and stale entries are skipped by a version number.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// An index entry: key, account, version.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    key: f64,
    id: u32,
    version: u32,
}

/// Max-heap order on the key (shorts store −key).
#[derive(Debug, Clone, Copy, PartialEq)]
struct HeapEntry(Entry);

impl Eq for HeapEntry {}

impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .key
            .total_cmp(&other.0.key)
            .then(other.0.id.cmp(&self.0.id))
    }
}

/// The accounts of one side in one maintenance group, most exposed first.
/// Keys are stored so that "crossed" is always `key ≥ threshold` (shorts
/// store the negated key).
#[derive(Debug, Clone, Default)]
pub struct SideIndex {
    sorted: Vec<Entry>,
    cursor: usize,
    heap: BinaryHeap<HeapEntry>,
}

impl SideIndex {
    /// Builds the index from `(key, id)` pairs (keys already signed).
    pub fn new(mut items: Vec<(f64, u32)>) -> Self {
        items.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Self {
            sorted: items
                .into_iter()
                .map(|(key, id)| Entry {
                    key,
                    id,
                    version: 0,
                })
                .collect(),
            cursor: 0,
            heap: BinaryHeap::new(),
        }
    }

    /// Re-inserts account `id` with a new key at `version`.
    pub fn insert(&mut self, key: f64, id: u32, version: u32) {
        self.heap.push(HeapEntry(Entry { key, id, version }));
    }

    /// Pops every live entry with `key ≥ threshold` into `out` (as ids);
    /// `live(id, version)` says whether an entry is current.
    pub fn pop_crossed(
        &mut self,
        threshold: f64,
        live: &dyn Fn(u32, u32) -> bool,
        out: &mut Vec<u32>,
    ) {
        while let Some(e) = self.sorted.get(self.cursor) {
            if e.key < threshold {
                break;
            }
            self.cursor += 1;
            if live(e.id, e.version) {
                out.push(e.id);
            }
        }
        while let Some(top) = self.heap.peek() {
            if top.0.key < threshold {
                break;
            }
            let e = self.heap.pop().map(|h| h.0);
            if let Some(e) = e {
                if live(e.id, e.version) {
                    out.push(e.id);
                }
            }
        }
    }

    /// Entries not yet popped (live or stale).
    pub fn remaining(&self) -> usize {
        self.sorted.len() - self.cursor + self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Popping at any sequence of thresholds returns exactly the
        /// accounts a brute-force scan finds crossed and not yet taken,
        /// with re-inserted (re-keyed) accounts found at their new key.
        #[test]
        fn the_index_agrees_with_a_brute_force_scan(
            keys in prop::collection::vec(-100.0f64..100.0, 1..300),
            steps in prop::collection::vec((-120.0f64..120.0, 0usize..300, -100.0f64..100.0), 1..40),
        ) {
            let n = keys.len();
            let mut key = keys.clone();
            let mut version = vec![0u32; n];
            let mut taken = vec![false; n];
            let mut idx = SideIndex::new(keys.iter().copied().zip(0..n as u32).collect());
            for (threshold, rekey, new_key) in steps {
                // Re-key one live account (as a partial liquidation does).
                let r = rekey % n;
                if !taken[r] {
                    version[r] += 1;
                    key[r] = new_key;
                    idx.insert(new_key, r as u32, version[r]);
                }
                let v = version.clone();
                let t = taken.clone();
                let live = move |id: u32, ver: u32| !t[id as usize] && v[id as usize] == ver;
                let mut got = Vec::new();
                idx.pop_crossed(threshold, &live, &mut got);
                got.sort_unstable();
                let want: Vec<u32> = (0..n as u32)
                    .filter(|&i| !taken[i as usize] && key[i as usize] >= threshold)
                    .collect();
                prop_assert_eq!(&got, &want);
                for i in got {
                    taken[i as usize] = true;
                }
            }
        }
    }
}
