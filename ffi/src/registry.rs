//! Registries of live handles and buffers handed to C.
//!
//! Every pointer we give out is recorded; every pointer we take back is checked against the
//! record first. That turns a double free, a freed handle used again or a pointer of the wrong
//! type into `RL_ERR_INVALID_ARGUMENT` instead of memory corruption.

use std::collections::HashMap;
use std::sync::Mutex;

/// A set of live addresses of one kind, each with the element count it was handed out with
/// (0 for handles).
pub(crate) struct Registry {
    live: Mutex<Option<HashMap<usize, usize>>>,
}

/// Why a sized release was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Release {
    /// Released.
    Done,
    /// Not a live address of this kind.
    NotLive,
    /// Live, but with another length (this many elements); left live.
    WrongLength(usize),
}

impl Registry {
    const fn new() -> Self {
        Registry { live: Mutex::new(None) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<usize, usize>) -> R) -> R {
        // A poisoned lock only means another thread panicked while holding it; the set itself
        // is always left consistent (single insert/remove), so keep using it.
        let mut guard = self.live.lock().unwrap_or_else(|e| e.into_inner());
        f(guard.get_or_insert_with(HashMap::new))
    }

    pub(crate) fn insert(&self, address: usize) {
        self.insert_sized(address, 0);
    }

    /// Records an address handed out with `len` elements.
    pub(crate) fn insert_sized(&self, address: usize, len: usize) {
        self.with(|set| set.insert(address, len));
    }

    pub(crate) fn contains(&self, address: usize) -> bool {
        self.with(|set| set.contains_key(&address))
    }

    /// Removes the address; false when it was not live.
    pub(crate) fn remove(&self, address: usize) -> bool {
        self.with(|set| set.remove(&address).is_some())
    }

    /// Removes the address if it is live with exactly `len` elements: freeing with another
    /// length would hand the allocator a wrong layout.
    pub(crate) fn remove_sized(&self, address: usize, len: usize) -> Release {
        self.with(|set| match set.get(&address) {
            None => Release::NotLive,
            Some(&live) if live != len => Release::WrongLength(live),
            Some(_) => {
                set.remove(&address);
                Release::Done
            }
        })
    }
}

pub(crate) static TEMPLATES: Registry = Registry::new();
pub(crate) static GALLERIES: Registry = Registry::new();
pub(crate) static READERS: Registry = Registry::new();
pub(crate) static BUFFERS: Registry = Registry::new();
pub(crate) static CANDIDATES: Registry = Registry::new();
pub(crate) static PERSON_CANDIDATES: Registry = Registry::new();
