//! [`ConnectionId`]: which client connection a reducer call came from.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Identifies one client connection (a WebSocket, for instance) for as long as it lasts.
/// Never 0: the module ABI uses 0 for "not called over a connection".
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnectionId(u64);

impl ConnectionId {
    /// `None` for 0, which stands for "no connection".
    pub const fn new(id: u64) -> Option<ConnectionId> {
        if id == 0 {
            None
        } else {
            Some(ConnectionId(id))
        }
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    /// The id as the module ABI carries it (0 for none).
    pub fn to_abi(id: Option<ConnectionId>) -> u64 {
        id.map_or(0, ConnectionId::get)
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_no_connection() {
        assert_eq!(ConnectionId::new(0), None);
        let id = ConnectionId::new(7).expect("nonzero");
        assert_eq!(id.get(), 7);
        assert_eq!(ConnectionId::to_abi(Some(id)), 7);
        assert_eq!(ConnectionId::to_abi(None), 0);
        assert_eq!(id.to_string(), "0000000000000007");
    }
}
