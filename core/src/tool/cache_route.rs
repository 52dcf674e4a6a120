//! How one compile reaches the cache, decided in one place for the shim
//! (synchronous, `exec`s at the end) and the build engine (async): straight
//! to zccache's daemon over its wire when it speaks ours, else through
//! zccache's client, else the compiler alone. Each caller runs the steps
//! its own way and asks [`Ladder::after`] what comes next; the rules:
//!
//! * a step that ran the compile (from the cache or not) is the answer,
//!   whatever the compiler said;
//! * a daemon of another wire (`WireError::Mismatch`) is reported to the
//!   coordinator (it probes the daemon again) and the compile goes through
//!   zccache's client, which speaks that wire; without a client, alone;
//! * the machinery failing (the wire broke, the client crashed or said
//!   `zccache[err]`: see [`super::cache_env::machinery_failure`]) is said
//!   once, reported, and the compile runs alone: a build never breaks
//!   because of the cache.

/// A way to run the compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Over zccache's daemon wire.
    Wire,
    /// Through zccache's client (`zccache <compiler> args…`).
    Client,
    /// The compiler alone.
    Alone,
}

/// What a step came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Came {
    /// The compile ran: the compiler's exit code.
    Exited(i32),
    /// The daemon speaks another wire.
    OtherWire(String),
    /// The cache machinery failed.
    Failed(String),
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Done: this is the compile's exit code.
    Done(i32),
    /// Tell the coordinator `report` (quietly), then run `via`.
    Then { via: Via, report: String },
    /// The cache failed: say `why` once, tell the coordinator, run alone.
    Fallback { why: String },
}

/// The ways this compile may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ladder {
    /// A daemon socket of our wire is known (and the wire not switched
    /// off), and the compile's arguments are text.
    pub wire: bool,
    /// zccache's client is there to put in front.
    pub client: bool,
}

impl Ladder {
    /// The first step.
    pub fn first(&self) -> Via {
        match (self.wire, self.client) {
            (true, _) => Via::Wire,
            (false, true) => Via::Client,
            (false, false) => Via::Alone,
        }
    }

    /// The step after `via` came to `came`.
    pub fn after(&self, via: Via, came: Came) -> Next {
        match came {
            Came::Exited(code) => Next::Done(code),
            Came::OtherWire(why) if via == Via::Wire => Next::Then {
                via: if self.client { Via::Client } else { Via::Alone },
                report: why,
            },
            Came::OtherWire(why) | Came::Failed(why) => Next::Fallback { why },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_one_next_step() {
        let both = Ladder {
            wire: true,
            client: true,
        };
        assert_eq!(both.first(), Via::Wire);
        assert_eq!(both.after(Via::Wire, Came::Exited(1)), Next::Done(1));
        assert_eq!(
            both.after(Via::Wire, Came::OtherWire("v2".into())),
            Next::Then {
                via: Via::Client,
                report: "v2".into()
            }
        );
        assert_eq!(
            both.after(Via::Wire, Came::Failed("closed".into())),
            Next::Fallback {
                why: "closed".into()
            }
        );
        assert_eq!(both.after(Via::Client, Came::Exited(0)), Next::Done(0));
        assert_eq!(
            both.after(Via::Client, Came::OtherWire("?".into())),
            Next::Fallback { why: "?".into() }
        );
        assert_eq!(
            both.after(Via::Client, Came::Failed("panicked".into())),
            Next::Fallback {
                why: "panicked".into()
            }
        );
        let wire_only = Ladder {
            wire: true,
            client: false,
        };
        assert!(matches!(
            wire_only.after(Via::Wire, Came::OtherWire("v2".into())),
            Next::Then {
                via: Via::Alone,
                ..
            }
        ));
        let client_only = Ladder {
            wire: false,
            client: true,
        };
        assert_eq!(client_only.first(), Via::Client);
        let none = Ladder {
            wire: false,
            client: false,
        };
        assert_eq!(none.first(), Via::Alone);
    }

    /// The drivers loop until `Done` or `Fallback`: no step leads back to
    /// the wire, and after the client there is nothing but an end, so no
    /// compile is tried more than twice.
    #[test]
    fn every_route_ends_within_two_steps() {
        let outcomes = || {
            [
                Came::Exited(0),
                Came::Exited(1),
                Came::OtherWire("w".into()),
                Came::Failed("f".into()),
            ]
        };
        for (wire, client) in [(true, true), (true, false), (false, true), (false, false)] {
            let ladder = Ladder { wire, client };
            for first in outcomes() {
                match ladder.after(ladder.first(), first) {
                    Next::Then { via, .. } => {
                        assert_ne!(via, Via::Wire);
                        for second in outcomes() {
                            assert!(!matches!(ladder.after(via, second), Next::Then { .. }));
                        }
                    }
                    Next::Done(_) | Next::Fallback { .. } => {}
                }
            }
        }
    }
}
