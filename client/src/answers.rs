//! Typed requests: each request with the one answer it takes, the
//! coordinator's refusals as errors with their kind. Callers match on
//! outcomes, never on a `Reply` they did not ask for (before, seven callers
//! each had an "unexpected answer" arm and nested `Result`s).

use fbuild_core::protocol::{
    CacheAction, CacheFigures, CoreArchiveRequest, CoreInstall, ErrorKind, Event, LibraryInstall,
    LibraryInstalled, LibraryQuery, LibraryRelease, Plan, PlanRequest, Reply, Request, Status,
    Toolchain, ToolchainRequest, ZccacheChoice,
};

use crate::{Client, ClientError, Served};

/// Why a typed request got no answer of its type.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// fbuild's machinery: no coordinator, a transport failure, a busy
    /// coordinator (see [`ClientError`]).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The coordinator said no; the message says why and what to do.
    #[error("{message}")]
    Refused { kind: ErrorKind, message: String },
    /// An answer this request does not take (a coordinator of another
    /// version, or a bug).
    #[error("the coordinator answered a {request} request with {answer}")]
    Unexpected {
        request: &'static str,
        answer: String,
    },
}

/// A toolchain request's failure: an unknown platform, no tools, an
/// unhealthy compiler, a failed install (see [`ErrorKind`]), or the
/// machinery's.
pub type ToolchainError = RequestError;

/// Events of a request as they come (install progress, warnings).
pub type OnEvent<'a> = &'a mut dyn FnMut(&Event);

impl Client {
    /// The platform's toolchain, checked for the request's MCU.
    pub fn toolchain(
        &self,
        req: ToolchainRequest,
        on_event: OnEvent,
    ) -> Result<Toolchain, ToolchainError> {
        let served = self.request(&Request::Toolchain(req), on_event);
        answer(served, "toolchain", |reply| match reply {
            Reply::Toolchain(t) => Ok(t),
            other => Err(Box::new(other)),
        })
    }

    /// A shim's plan for one tool call.
    pub fn plan(&self, req: PlanRequest, on_event: OnEvent) -> Result<Plan, RequestError> {
        let served = self.request(&Request::Plan(req), on_event);
        answer(served, "plan", |reply| match reply {
            Reply::Plan(p) => Ok(p),
            other => Err(Box::new(other)),
        })
    }

    /// A core (and its tools) from a package index, or from an archive.
    pub fn install_core(
        &self,
        request: CoreSource,
        on_event: OnEvent,
    ) -> Result<CoreInstall, RequestError> {
        let request = match request {
            CoreSource::Index(req) => Request::InstallCore(req),
            CoreSource::Archive(req) => Request::InstallCoreArchive(req),
            CoreSource::Platform(platform) => Request::PlatformCore { platform },
        };
        answer(
            self.request(&request, on_event),
            "core install",
            |reply| match reply {
                Reply::Core(c) => Ok(c),
                other => Err(Box::new(other)),
            },
        )
    }

    /// A library, installed (or found in the store).
    pub fn install_library(
        &self,
        req: LibraryInstall,
        on_event: OnEvent,
    ) -> Result<LibraryInstalled, RequestError> {
        let served = self.request(&Request::InstallLibrary(req), on_event);
        answer(served, "library install", |reply| match reply {
            Reply::Library(l) => Ok(l),
            other => Err(Box::new(other)),
        })
    }

    /// Every release of a library in an index ([`ErrorKind::UnknownPackage`]
    /// when it has none of that name).
    pub fn library_versions(
        &self,
        query: LibraryQuery,
        on_event: OnEvent,
    ) -> Result<Vec<LibraryRelease>, RequestError> {
        let served = self.request(&Request::LibraryVersions(query), on_event);
        answer(served, "library versions", |reply| match reply {
            Reply::LibraryVersions { releases } => Ok(releases),
            other => Err(Box::new(other)),
        })
    }

    /// A package by name (`zccache`), installed through the gate; its
    /// path.
    pub fn install(
        &self,
        package: &str,
        retry: bool,
        on_event: OnEvent,
    ) -> Result<String, RequestError> {
        let request = Request::Install {
            package: package.to_string(),
            retry,
        };
        answer(
            self.request(&request, on_event),
            "install",
            |reply| match reply {
                Reply::Installed { path, .. } => Ok(path),
                other => Err(Box::new(other)),
            },
        )
    }

    /// The cache route for a build: the coordinator's zccache decision, or
    /// `None` when it puts zccache off for this build (`only_if_useful`:
    /// its cache is empty; the daemon starts after the build). A
    /// coordinator that does not know the `only_if_useful` request is
    /// asked the plain one.
    pub fn zccache(
        &self,
        only_if_useful: bool,
        on_event: OnEvent,
    ) -> Result<Option<ZccacheChoice>, RequestError> {
        let request = match only_if_useful {
            true => Request::ZccacheIfUseful,
            false => Request::ResolveZccache,
        };
        let pick = |reply| match reply {
            Reply::Zccache(choice) => Ok(Some(choice)),
            Reply::Noted => Ok(None),
            other => Err(Box::new(other)),
        };
        match answer(self.request(&request, on_event), "zccache", pick) {
            Err(RequestError::Refused {
                kind: ErrorKind::Unsupported,
                ..
            }) if only_if_useful => self.zccache(false, on_event),
            other => other,
        }
    }

    /// Claims `port` from the monitors that watch it (for an upload), or
    /// gives it back; how many monitors let go of it.
    pub fn lease_port(&self, port: &str, claim: bool) -> Result<usize, RequestError> {
        let port = port.to_string();
        let request = match claim {
            true => Request::ClaimPort { port },
            false => Request::ReleasePort { port },
        };
        answer(
            self.request(&request, &mut |_| {}),
            "port lease",
            |reply| match reply {
                Reply::PortClaimed { paused } => Ok(paused),
                Reply::PortReleased => Ok(0),
                other => Err(Box::new(other)),
            },
        )
    }

    /// The running coordinator's status (none is started for it).
    pub fn status(&self) -> Result<Status, RequestError> {
        let served = self.request_if_running(&Request::Status, &mut |_| {});
        answer(served, "status", |reply| match reply {
            Reply::Status(s) => Ok(*s),
            other => Err(Box::new(other)),
        })
    }

    /// The compile cache's figures after `action` (starts a coordinator).
    pub fn cache(&self, action: CacheAction) -> Result<CacheFigures, RequestError> {
        let served = self.request(&Request::Cache { action }, &mut |_| {});
        answer(served, "cache", |reply| match reply {
            Reply::CacheFigures(f) => Ok(*f),
            other => Err(Box::new(other)),
        })
    }
}

/// Where a core comes from.
pub enum CoreSource {
    Index(fbuild_core::protocol::CoreRequest),
    Archive(CoreArchiveRequest),
    /// A platform with data (`atmelavr`): the system's core or the managed
    /// one.
    Platform(String),
}

/// `served`'s reply as `pick` takes it; a refusal or any other reply as
/// the error it is.
fn answer<T>(
    served: Result<Served, ClientError>,
    request: &'static str,
    pick: impl FnOnce(Reply) -> Result<T, Box<Reply>>,
) -> Result<T, RequestError> {
    match pick(served?.reply).map_err(|other| *other) {
        Ok(value) => Ok(value),
        Err(Reply::Error { kind, message }) => Err(RequestError::Refused { kind, message }),
        Err(other) => Err(RequestError::Unexpected {
            request,
            answer: format!("{other:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fbuild_core::protocol::Hello;

    fn served(reply: Reply) -> Result<Served, ClientError> {
        Ok(Served {
            coordinator: Hello {
                pid: 1,
                version: "x".into(),
                protocol: 2,
            },
            reply,
        })
    }

    fn pong(reply: Reply) -> Result<(), Box<Reply>> {
        match reply {
            Reply::Pong => Ok(()),
            other => Err(Box::new(other)),
        }
    }

    #[test]
    fn each_answer_is_its_type_a_refusal_or_unexpected() {
        assert!(answer(served(Reply::Pong), "ping", pong).is_ok());
        let refused = Reply::Error {
            kind: ErrorKind::Unhealthy,
            message: "cc is broken".into(),
        };
        let err = answer(served(refused), "ping", pong).unwrap_err();
        assert!(matches!(
            &err,
            RequestError::Refused { kind: ErrorKind::Unhealthy, message } if message == "cc is broken"
        ));
        assert_eq!(err.to_string(), "cc is broken");
        let err = answer(served(Reply::Noted), "ping", pong).unwrap_err();
        assert!(matches!(
            err,
            RequestError::Unexpected {
                request: "ping",
                ..
            }
        ));
        let err = answer::<()>(Err(ClientError::NotRunning), "ping", pong).unwrap_err();
        assert!(matches!(err, RequestError::Client(ClientError::NotRunning)));
    }

    #[test]
    fn a_newer_coordinators_error_kind_is_read_as_other() {
        let kind: ErrorKind = serde_json::from_str("\"disk_full\"").unwrap();
        assert_eq!(kind, ErrorKind::Other);
    }
}
