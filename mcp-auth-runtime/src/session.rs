//! Binding legacy `Mcp-Session-Id`s to the principal that created them.
//!
//! rmcp's session mode accepts any request that carries a live session id. A session id is a
//! state handle, not a credential (spec: "MUST NOT treat possession of a state handle as
//! authentication"), so the layer remembers which principal created each session and refuses
//! the session to everyone else.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

/// Session id → principal key, bounded: when full, the oldest binding is dropped and that
/// session can no longer be used (its client starts a new one), which fails closed.
#[derive(Debug)]
pub(crate) struct SessionBindings {
    inner: Mutex<Bindings>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Bindings {
    map: HashMap<Box<str>, Box<str>>,
    order: VecDeque<Box<str>>,
}

/// What the layer should do with a request that names a session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SessionCheck {
    /// The session belongs to this principal.
    Owner,
    /// Unknown here, or another principal's: answer as for an unknown session.
    Refuse,
}

impl SessionBindings {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Bindings::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bindings> {
        // A poisoned lock only means another thread panicked mid-update of a plain map; the
        // map is still consistent enough to answer (worst case: a binding is missing → refuse).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn check(&self, session: &str, principal: &str) -> SessionCheck {
        match self.lock().map.get(session) {
            Some(owner) if **owner == *principal => SessionCheck::Owner,
            _ => SessionCheck::Refuse,
        }
    }

    pub(crate) fn bind(&self, session: &str, principal: &str) {
        let mut b = self.lock();
        if b.map.contains_key(session) {
            return;
        }
        while b.map.len() >= self.capacity {
            match b.order.pop_front() {
                Some(old) => {
                    b.map.remove(&old);
                }
                None => break,
            }
        }
        b.map.insert(session.into(), principal.into());
        b.order.push_back(session.into());
    }

    pub(crate) fn unbind(&self, session: &str) {
        let mut b = self.lock();
        if b.map.remove(session).is_some() {
            b.order.retain(|s| **s != *session);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_creator_may_use_a_session() {
        let s = SessionBindings::new(10);
        s.bind("sid-1", "alice");
        assert_eq!(s.check("sid-1", "alice"), SessionCheck::Owner);
        assert_eq!(s.check("sid-1", "bob"), SessionCheck::Refuse);
        assert_eq!(s.check("sid-2", "alice"), SessionCheck::Refuse);
        s.bind("sid-1", "bob");
        assert_eq!(
            s.check("sid-1", "bob"),
            SessionCheck::Refuse,
            "no rebinding"
        );
        s.unbind("sid-1");
        assert_eq!(s.check("sid-1", "alice"), SessionCheck::Refuse);
    }

    #[test]
    fn bounded() {
        let s = SessionBindings::new(3);
        for i in 0..10 {
            s.bind(&format!("sid-{i}"), "p");
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.check("sid-9", "p"), SessionCheck::Owner);
        assert_eq!(s.check("sid-0", "p"), SessionCheck::Refuse);
    }
}
