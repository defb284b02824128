//! Registries of live handles and buffers handed to C.
//!
//! Every pointer we give out is recorded; every pointer we take back is checked against the
//! record first. That turns a double free, a freed handle used again or a pointer of the wrong
//! type into `RL_ERR_INVALID_ARGUMENT` instead of memory corruption.

use std::collections::HashSet;
use std::sync::Mutex;

/// A set of live addresses of one kind.
pub(crate) struct Registry {
    live: Mutex<Option<HashSet<usize>>>,
}

impl Registry {
    const fn new() -> Self {
        Registry { live: Mutex::new(None) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashSet<usize>) -> R) -> R {
        // A poisoned lock only means another thread panicked while holding it; the set itself
        // is always left consistent (single insert/remove), so keep using it.
        let mut guard = self.live.lock().unwrap_or_else(|e| e.into_inner());
        f(guard.get_or_insert_with(HashSet::new))
    }

    pub(crate) fn insert(&self, address: usize) {
        self.with(|set| set.insert(address));
    }

    pub(crate) fn contains(&self, address: usize) -> bool {
        self.with(|set| set.contains(&address))
    }

    /// Removes the address; false when it was not live.
    pub(crate) fn remove(&self, address: usize) -> bool {
        self.with(|set| set.remove(&address))
    }
}

pub(crate) static TEMPLATES: Registry = Registry::new();
pub(crate) static GALLERIES: Registry = Registry::new();
pub(crate) static READERS: Registry = Registry::new();
pub(crate) static BUFFERS: Registry = Registry::new();
pub(crate) static CANDIDATES: Registry = Registry::new();
pub(crate) static PERSON_CANDIDATES: Registry = Registry::new();
