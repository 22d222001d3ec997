//! A least-recently-used cache with an optional time to live and hit/miss
//! counters: the seed's `ConcurrentCache` for one worker, which needs no lock.
//! Time comes from an injected [`Clock`], so expiry is testable and works on
//! `wasm32-unknown-unknown`, where `std::time::Instant` panics.

use serde::Serialize;
use std::borrow::Borrow;
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::rc::Rc;
use std::time::Duration;

/// A source of milliseconds that never goes backwards.
pub trait Clock {
    fn now_ms(&self) -> u64;
}

/// Any `Fn() -> u64` is a clock, e.g. `|| js_sys::Date::now() as u64`.
impl<F: Fn() -> u64> Clock for F {
    fn now_ms(&self) -> u64 {
        self()
    }
}

/// A clock that moves only when told to; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Rc<Cell<u64>>);

impl ManualClock {
    pub fn new(now_ms: u64) -> Self {
        ManualClock(Rc::new(Cell::new(now_ms)))
    }

    pub fn advance(&self, by: Duration) {
        self.0.set(self.0.get().saturating_add(duration_ms(by)));
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
}

/// Counters since the cache was made, serialised in camelCase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheStats {
    /// `get` calls that found a live entry.
    pub hits: u64,
    /// `get` calls that found nothing or an expired entry.
    pub misses: u64,
    /// Live entries dropped to make room.
    pub evictions: u64,
    /// Entries dropped because their time to live had passed.
    pub expirations: u64,
    pub len: usize,
    pub capacity: usize,
}

const NIL: usize = usize::MAX;

struct Node<K, V> {
    key: K,
    value: V,
    expires_at: Option<u64>,
    /// Towards the most recently used end.
    prev: usize,
    /// Towards the least recently used end.
    next: usize,
}

/// An LRU cache of at most `capacity` entries. Entries live in a dense `Vec`
/// linked into a recency list by index, with a `HashMap` from key to index,
/// so every operation is O(1) and nothing is allocated once it is full.
pub struct LruCache<K, V, C> {
    map: HashMap<K, usize>,
    nodes: Vec<Node<K, V>>,
    /// Most recently used.
    head: usize,
    /// Least recently used: the next to be evicted.
    tail: usize,
    capacity: NonZeroUsize,
    ttl_ms: Option<u64>,
    clock: C,
    stats: CacheStats,
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl<K: Hash + Eq + Clone, V, C: Clock> LruCache<K, V, C> {
    /// An empty cache. With `ttl` set, an entry expires that long after it
    /// was last inserted (reading it does not extend its life).
    pub fn new(capacity: NonZeroUsize, ttl: Option<Duration>, clock: C) -> Self {
        LruCache {
            map: HashMap::with_capacity(capacity.get().min(1024)),
            nodes: Vec::with_capacity(capacity.get().min(1024)),
            head: NIL,
            tail: NIL,
            capacity,
            ttl_ms: ttl.map(duration_ms),
            clock,
            stats: CacheStats {
                capacity: capacity.get(),
                ..CacheStats::default()
            },
        }
    }

    /// The live value for `key`, marking it most recently used. Counts a hit
    /// or a miss; an expired entry is removed and counts as a miss.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(&i) = self.map.get(key) else {
            self.stats.misses += 1;
            return None;
        };
        if self.is_expired(i) {
            self.remove_at(i);
            self.stats.expirations += 1;
            self.stats.misses += 1;
            return None;
        }
        self.stats.hits += 1;
        self.unlink(i);
        self.push_front(i);
        Some(&self.nodes[i].value)
    }

    /// The live value for `key` without touching recency or counters.
    pub fn peek<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let &i = self.map.get(key)?;
        (!self.is_expired(i)).then(|| &self.nodes[i].value)
    }

    /// Inserts or replaces `key` as the most recently used entry, restarting
    /// its time to live, and returns the value it replaced. When the cache is
    /// full the least recently used entry is dropped first.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let expires_at = self
            .ttl_ms
            .map(|ttl| self.clock.now_ms().saturating_add(ttl));
        if let Some(&i) = self.map.get(&key) {
            self.unlink(i);
            self.push_front(i);
            self.nodes[i].expires_at = expires_at;
            return Some(std::mem::replace(&mut self.nodes[i].value, value));
        }
        if self.nodes.len() >= self.capacity.get() && self.tail != NIL {
            let lru = self.tail;
            if self.is_expired(lru) {
                self.stats.expirations += 1;
            } else {
                self.stats.evictions += 1;
            }
            self.remove_at(lru);
        }
        let i = self.nodes.len();
        self.nodes.push(Node {
            key: key.clone(),
            value,
            expires_at,
            prev: NIL,
            next: NIL,
        });
        self.map.insert(key, i);
        self.push_front(i);
        None
    }

    /// Removes `key`, returning its value even if it had expired.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let &i = self.map.get(key)?;
        Some(self.remove_at(i))
    }

    /// Drops every expired entry and returns how many there were.
    pub fn purge_expired(&mut self) -> usize {
        let mut purged = 0;
        let mut i = self.tail;
        while i != NIL {
            let prev = self.nodes[i].prev;
            if self.is_expired(i) {
                // `remove_at` may move the last node into slot i; `prev` is
                // then stale only if it was that last node, so re-find it.
                let last = self.nodes.len() - 1;
                self.remove_at(i);
                purged += 1;
                i = if prev == last { i } else { prev };
            } else {
                i = prev;
            }
        }
        self.stats.expirations += purged as u64;
        purged
    }

    /// Keys from most to least recently used, expired ones included until
    /// they are touched or purged.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        let mut i = self.head;
        std::iter::from_fn(move || {
            let node = self.nodes.get(i)?;
            i = node.next;
            Some(&node.key)
        })
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity.get()
    }

    /// Empties the cache; the counters keep counting.
    pub fn clear(&mut self) {
        self.map.clear();
        self.nodes.clear();
        self.head = NIL;
        self.tail = NIL;
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            len: self.nodes.len(),
            ..self.stats
        }
    }

    fn is_expired(&self, i: usize) -> bool {
        self.nodes[i]
            .expires_at
            .is_some_and(|at| self.clock.now_ms() >= at)
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = (self.nodes[i].prev, self.nodes[i].next);
        match prev {
            NIL => self.head = next,
            p => self.nodes[p].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.nodes[n].prev = prev,
        }
    }

    fn push_front(&mut self, i: usize) {
        self.nodes[i].prev = NIL;
        self.nodes[i].next = self.head;
        match self.head {
            NIL => self.tail = i,
            h => self.nodes[h].prev = i,
        }
        self.head = i;
    }

    /// Unlinks and removes node `i`, moving the last node into its slot so the
    /// `Vec` stays dense.
    fn remove_at(&mut self, i: usize) -> V {
        self.unlink(i);
        let last = self.nodes.len() - 1;
        if i != last {
            // Relink the node about to move from `last` to `i`.
            let (prev, next) = (self.nodes[last].prev, self.nodes[last].next);
            match prev {
                NIL => self.head = i,
                p => self.nodes[p].next = i,
            }
            match next {
                NIL => self.tail = i,
                n => self.nodes[n].prev = i,
            }
            if let Some(slot) = self.map.get_mut(&self.nodes[last].key) {
                *slot = i;
            }
        }
        let node = self.nodes.swap_remove(i);
        self.map.remove(&node.key);
        node.value
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    fn cache(
        capacity: usize,
        ttl_ms: Option<u64>,
    ) -> (LruCache<u32, String, ManualClock>, ManualClock) {
        let clock = ManualClock::new(1_000);
        let ttl = ttl_ms.map(Duration::from_millis);
        (
            LruCache::new(NonZeroUsize::new(capacity).unwrap(), ttl, clock.clone()),
            clock,
        )
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let (mut c, _) = cache(3, None);
        for k in 1..=3 {
            c.insert(k, k.to_string());
        }
        assert_eq!(c.get(&1).map(String::as_str), Some("1"));
        c.insert(4, "4".into());
        assert_eq!(c.keys().copied().collect::<Vec<_>>(), [4, 1, 3]);
        assert_eq!(c.get(&2), None);
        assert_eq!(c.insert(3, "three".into()), Some("3".into()));
        c.insert(5, "5".into());
        assert_eq!(c.keys().copied().collect::<Vec<_>>(), [5, 3, 4]);
        let stats = c.stats();
        assert_eq!(
            (
                stats.hits,
                stats.misses,
                stats.evictions,
                stats.len,
                stats.capacity
            ),
            (1, 1, 2, 3, 3)
        );
    }

    #[test]
    fn entries_expire() {
        let (mut c, clock) = cache(4, Some(100));
        c.insert(1, "a".into());
        clock.advance(Duration::from_millis(60));
        c.insert(2, "b".into());
        assert!(c.get(&1).is_some());
        clock.advance(Duration::from_millis(40));
        // Reading did not extend entry 1's life: it expires 100 ms after insertion.
        assert_eq!(c.peek(&1), None);
        assert_eq!(c.get(&1), None);
        assert_eq!(c.get(&2).map(String::as_str), Some("b"));
        clock.advance(Duration::from_millis(60));
        assert_eq!(c.purge_expired(), 1);
        assert!(c.is_empty());
        let stats = c.stats();
        assert_eq!((stats.hits, stats.misses, stats.expirations), (2, 1, 2));
    }

    #[test]
    fn remove_and_clear() {
        let (mut c, _) = cache(2, None);
        c.insert(1, "a".into());
        c.insert(2, "b".into());
        assert_eq!(c.remove(&1), Some("a".into()));
        assert_eq!(c.remove(&1), None);
        assert_eq!(c.keys().copied().collect::<Vec<_>>(), [2]);
        c.clear();
        assert_eq!(c.len(), 0);
        c.insert(3, "c".into());
        assert_eq!(c.get(&3).map(String::as_str), Some("c"));
    }

    #[test]
    fn closures_are_clocks() {
        let mut c: LruCache<&str, u8, _> =
            LruCache::new(NonZeroUsize::MIN, Some(Duration::from_secs(1)), || 5u64);
        c.insert("k", 1);
        assert_eq!(c.get("k"), Some(&1));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Get(u8),
        Insert(u8),
        Remove(u8),
        Advance(u8),
        Purge,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..12).prop_map(Op::Get),
            (0u8..12).prop_map(Op::Insert),
            (0u8..12).prop_map(Op::Remove),
            (0u8..40).prop_map(Op::Advance),
            Just(Op::Purge),
        ]
    }

    type Model = VecDeque<(u32, String, u64)>;

    fn take(model: &mut Model, key: u32) -> Option<String> {
        let p = model.iter().position(|e| e.0 == key)?;
        model.remove(p).map(|e| e.1)
    }

    proptest! {
        /// Against a model: a deque of (key, value, inserted at) from most to
        /// least recently used.
        #[test]
        fn matches_a_simple_model(
            capacity in 1usize..6,
            ops in prop::collection::vec(op(), 0..200),
        ) {
            let ttl = 50u64;
            let (mut c, clock) = cache(capacity, Some(ttl));
            let mut model = Model::new();
            for (n, op) in ops.into_iter().enumerate() {
                let now = clock.now_ms();
                match op {
                    Op::Get(k) => {
                        let k = u32::from(k);
                        let want = match model.iter().position(|e| e.0 == k) {
                            Some(p) if now >= model[p].2 + ttl => { model.remove(p); None }
                            Some(p) => {
                                let entry = model.remove(p).unwrap();
                                let value = entry.1.clone();
                                model.push_front(entry);
                                Some(value)
                            }
                            None => None,
                        };
                        prop_assert_eq!(c.get(&k).cloned(), want);
                    }
                    Op::Insert(k) => {
                        let k = u32::from(k);
                        let value = format!("{k}@{n}");
                        let old = take(&mut model, k);
                        if old.is_none() && model.len() == capacity {
                            model.pop_back();
                        }
                        model.push_front((k, value.clone(), now));
                        prop_assert_eq!(c.insert(k, value), old);
                    }
                    Op::Remove(k) => {
                        let k = u32::from(k);
                        let want = take(&mut model, k);
                        prop_assert_eq!(c.remove(&k), want);
                    }
                    Op::Advance(ms) => clock.advance(Duration::from_millis(u64::from(ms))),
                    Op::Purge => {
                        let before = model.len();
                        model.retain(|e| now < e.2 + ttl);
                        prop_assert_eq!(c.purge_expired(), before - model.len());
                    }
                }
                let keys: Vec<u32> = model.iter().map(|e| e.0).collect();
                prop_assert_eq!(c.keys().copied().collect::<Vec<_>>(), keys);
                prop_assert_eq!(c.len(), model.len());
            }
        }
    }
}
