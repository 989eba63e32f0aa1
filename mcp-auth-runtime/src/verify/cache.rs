//! A bounded least-recently-used cache with a deadline per entry, keyed by 32 bytes that
//! identify a token: the SHA-256 of an opaque token (introspection answers), or the tail of a
//! verified JWT's signature (verified JWTs). Callers confirm a hit against the whole token.

use std::{collections::HashMap, sync::Mutex, time::Instant};

/// The cache key: 32 bytes identifying a token.
pub(crate) type Digest = [u8; 32];

const NIL: usize = usize::MAX;

/// Thread-safe; every operation is O(1) under one short lock.
pub(crate) struct TtlLru<V> {
    inner: Mutex<Lru<V>>,
}

struct Slot<V> {
    key: Digest,
    value: V,
    expires: Instant,
    prev: usize,
    next: usize,
}

struct Lru<V> {
    map: HashMap<Digest, usize>,
    slots: Vec<Slot<V>>,
    free: Vec<usize>,
    /// Most recently used.
    head: usize,
    /// Least recently used.
    tail: usize,
    capacity: usize,
}

impl<V: Clone> TtlLru<V> {
    /// A cache holding at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            inner: Mutex::new(Lru {
                map: HashMap::with_capacity(capacity.min(4096)),
                slots: Vec::new(),
                free: Vec::new(),
                head: NIL,
                tail: NIL,
                capacity,
            }),
        }
    }

    /// The value under `key` if present and not past its deadline at `now`.
    pub(crate) fn get(&self, key: &Digest, now: Instant) -> Option<V> {
        let mut lru = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let idx = *lru.map.get(key)?;
        if lru.slots[idx].expires <= now {
            lru.remove(idx);
            return None;
        }
        lru.unlink(idx);
        lru.push_front(idx);
        Some(lru.slots[idx].value.clone())
    }

    /// Insert or replace `key`, valid until `expires`; evicts the least recently used entry
    /// when full. An entry already past its deadline is not stored.
    pub(crate) fn insert(&self, key: Digest, value: V, expires: Instant, now: Instant) {
        if expires <= now {
            return;
        }
        let mut lru = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&idx) = lru.map.get(&key) {
            let slot = &mut lru.slots[idx];
            slot.value = value;
            slot.expires = expires;
            lru.unlink(idx);
            lru.push_front(idx);
            return;
        }
        if lru.map.len() >= lru.capacity {
            let victim = lru.tail;
            lru.remove(victim);
        }
        let slot = Slot {
            key,
            value,
            expires,
            prev: NIL,
            next: NIL,
        };
        let idx = match lru.free.pop() {
            Some(i) => {
                lru.slots[i] = slot;
                i
            }
            None => {
                lru.slots.push(slot);
                lru.slots.len() - 1
            }
        };
        lru.map.insert(key, idx);
        lru.push_front(idx);
    }

    /// Number of entries (expired ones included until touched or evicted).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .len()
    }
}

impl<V> Lru<V> {
    fn unlink(&mut self, idx: usize) {
        let (prev, next) = (self.slots[idx].prev, self.slots[idx].next);
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next].prev = prev;
        }
        self.slots[idx].prev = NIL;
        self.slots[idx].next = NIL;
    }

    fn push_front(&mut self, idx: usize) {
        self.slots[idx].next = self.head;
        self.slots[idx].prev = NIL;
        if self.head != NIL {
            self.slots[self.head].prev = idx;
        }
        self.head = idx;
        if self.tail == NIL {
            self.tail = idx;
        }
    }

    fn remove(&mut self, idx: usize) {
        self.unlink(idx);
        let key = self.slots[idx].key;
        self.map.remove(&key);
        self.free.push(idx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key(i: u8) -> Digest {
        [i; 32]
    }

    #[test]
    fn evicts_least_recently_used() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        let c = TtlLru::new(2);
        c.insert(key(1), 1, later, now);
        c.insert(key(2), 2, later, now);
        assert_eq!(c.get(&key(1), now), Some(1)); // 1 is now most recent
        c.insert(key(3), 3, later, now); // evicts 2
        assert_eq!(c.get(&key(2), now), None);
        assert_eq!(c.get(&key(1), now), Some(1));
        assert_eq!(c.get(&key(3), now), Some(3));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn entries_expire_and_are_never_served_late() {
        let now = Instant::now();
        let c = TtlLru::new(4);
        c.insert(key(1), "a", now + Duration::from_secs(1), now);
        assert_eq!(c.get(&key(1), now), Some("a"));
        assert_eq!(c.get(&key(1), now + Duration::from_secs(1)), None);
        assert_eq!(c.len(), 0);
        c.insert(key(2), "b", now, now);
        assert_eq!(c.len(), 0, "already expired entries are not stored");
    }

    #[test]
    fn replace_and_reuse_slots() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        let c = TtlLru::new(3);
        for round in 0..50u8 {
            c.insert(key(round), round, later, now);
            c.insert(key(round), round + 1, later, now);
            assert_eq!(c.get(&key(round), now), Some(round + 1));
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.inner.lock().unwrap().slots.len(), 3, "slots are recycled");
    }
}
