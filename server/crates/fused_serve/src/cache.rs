//! The result cache: in memory, bounded in bytes, least recently used out first. Keys hash the
//! package's files, so a changed file never meets an old result (different code never shares
//! one, unlike the SDK's own cache).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// A response worth keeping: status, content type and body.
#[derive(Clone)]
pub struct Cached {
    pub status: u16,
    pub content_type: &'static str,
    pub body: axum::body::Bytes,
    /// The run's own time, for the `X-Fused-Ms` header of a hit.
    pub run_ms: f64,
}

struct Inner {
    map: HashMap<String, (Cached, u64)>,
    /// Use order: tick → key; the smallest tick is the least recently used.
    order: BTreeMap<u64, String>,
    tick: u64,
    bytes: usize,
}

pub struct Cache {
    limit: usize,
    inner: Mutex<Inner>,
}

fn cost(key: &str, c: &Cached) -> usize {
    key.len() + c.body.len() + 64
}

impl Cache {
    pub fn new(limit: usize) -> Cache {
        Cache {
            limit,
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: BTreeMap::new(),
                tick: 0,
                bytes: 0,
            }),
        }
    }

    pub fn get(&self, key: &str) -> Option<Cached> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.tick += 1;
        let tick = g.tick;
        let (value, old) = {
            let (v, t) = g.map.get_mut(key)?;
            let old = std::mem::replace(t, tick);
            (v.clone(), old)
        };
        g.order.remove(&old);
        g.order.insert(tick, key.to_string());
        Some(value)
    }

    pub fn put(&self, key: String, value: Cached) {
        let size = cost(&key, &value);
        if size > self.limit {
            return; // larger than the whole cache: never kept
        }
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((old, t)) = g.map.remove(&key) {
            g.bytes -= cost(&key, &old);
            g.order.remove(&t);
        }
        while g.bytes + size > self.limit {
            let Some((_, k)) = g.order.pop_first() else {
                break;
            };
            if let Some((old, _)) = g.map.remove(&k) {
                g.bytes -= cost(&k, &old);
            }
        }
        g.tick += 1;
        let tick = g.tick;
        g.order.insert(tick, key.clone());
        g.bytes += size;
        g.map.insert(key, (value, tick));
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|g| g.map.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(n: usize) -> Cached {
        Cached {
            status: 200,
            content_type: "x",
            body: vec![0u8; n].into(),
            run_ms: 0.0,
        }
    }

    #[test]
    fn least_recently_used_goes_first_and_the_bound_holds() {
        let c = Cache::new(3 * (1000 + 1 + 64));
        c.put("a".into(), item(1000));
        c.put("b".into(), item(1000));
        c.put("c".into(), item(1000));
        assert!(c.get("a").is_some()); // a is now the most recent
        c.put("d".into(), item(1000));
        assert!(c.get("b").is_none(), "b was the least recently used");
        assert!(c.get("a").is_some() && c.get("c").is_some() && c.get("d").is_some());
        c.put("huge".into(), item(10_000));
        assert!(c.get("huge").is_none());
        assert_eq!(c.len(), 3);
    }
}
