//! Libraries for `lib_deps`: versions from library indexes (see `indexes`)
//! and installs into the shared store
//! `FBUILD_HOME/libraries/<label>-<version>-<hash>/` (see
//! `LibraryInstall::store_dir`) through the install
//! gate: one download (or git clone) for any number of concurrent builds,
//! the sha256 recorded in the library's `.fbuild-package.json`, and a
//! lock file's pin enforced (a stored library whose record differs is
//! replaced; a download that differs is refused and nothing is stored).

mod indexes;

use std::sync::Arc;

use fbuild_core::Settings;
use fbuild_core::install_status::InstallStatus;
use fbuild_core::protocol::{ErrorKind, LibraryInstall, LibraryInstalled, LibraryQuery, Reply};
use tokio::sync::mpsc::UnboundedSender;

use fbuild_core::library_wire::read_record;

use crate::install::{Checksum, Installer, Origin, PackageSpec, UnpackLimits, fetch, follow};
use indexes::Indexes;

pub struct Libraries {
    settings: Settings,
    installer: Arc<Installer>,
    indexes: Indexes,
}

impl Libraries {
    pub fn new(settings: Settings, installer: Arc<Installer>) -> Self {
        Libraries {
            settings,
            installer,
            indexes: Indexes::default(),
        }
    }

    pub async fn versions(
        &self,
        q: LibraryQuery,
        events: &UnboundedSender<InstallStatus>,
    ) -> Reply {
        let stall = self.settings.download_stall;
        match self.indexes.versions(&q, stall, events).await {
            Ok(releases) => Reply::LibraryVersions { releases },
            Err((unknown, message)) => Reply::Error {
                kind: if unknown {
                    ErrorKind::UnknownPackage
                } else {
                    ErrorKind::InstallFailed
                },
                message,
            },
        }
    }

    pub async fn install(
        &self,
        req: LibraryInstall,
        events: &UnboundedSender<InstallStatus>,
    ) -> Reply {
        let expected = match req.sha256.as_deref().map(fetch::sha256_hex).transpose() {
            Ok(e) => e,
            Err(message) => {
                return Reply::Error {
                    kind: ErrorKind::InstallFailed,
                    message: format!("{}: {message}", req.url),
                };
            }
        };
        // The warm path, without the gate: a stored library appears only by
        // one rename of a complete tree, so a record read here is whole;
        // one that differs from the pin goes through the gate (replaced).
        if let Some(stored) = req.stored(&self.settings.home.libraries_dir()) {
            return Reply::Library(stored);
        }
        let spec = self.spec(&req, expected.clone());
        let dest = spec.dest.clone();
        let outcome = follow(self.installer.ensure(spec, true), events).await;
        match outcome
            .map_err(|e| e.to_string())
            .and_then(|dir| read_record(&dir).map_err(|e| e.to_string()))
        {
            Ok((sha256, commit)) => Reply::Library(LibraryInstalled {
                dir: dest,
                sha256,
                commit,
            }),
            Err(message) => Reply::Error {
                kind: ErrorKind::InstallFailed,
                message,
            },
        }
    }

    fn spec(&self, req: &LibraryInstall, expected: Option<String>) -> PackageSpec {
        let dest = req.store_dir(&self.settings.home.libraries_dir());
        // Name and version for the gate's key and lock: the folder's name.
        let key = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (name, version) = key.split_once('-').unwrap_or((&key, ""));
        let (name, version) = (name.to_string(), version.to_string());
        let want = expected.clone();
        PackageSpec {
            lock_file: self
                .settings
                .home
                .locks_dir()
                .join(format!("library-{name}-{version}.lock")),
            name,
            version,
            archive_url: req.url.clone(),
            checksum: expected.map_or(Checksum::Record, Checksum::Sha256),
            origin: match &req.git_ref {
                Some(reference) => Origin::Git {
                    reference: reference.clone(),
                },
                None => Origin::Archive,
            },
            record: true,
            top_dir: Some("*".into()),
            executables: Vec::new(),
            limits: UnpackLimits::with(UnpackLimits::LIBRARY, &self.settings),
            stall: self.settings.download_stall,
            // A stored library must be what the lock pins (else it is
            // replaced: moved aside, fetched again, verified).
            health: Arc::new(move |root| {
                let (sha256, _) = read_record(root).map_err(|e| e.to_string())?;
                match &want {
                    Some(want) if *want != sha256 => Err(format!(
                        "the stored copy has sha256 {sha256}, the lock file pins {want}"
                    )),
                    _ => Ok(()),
                }
            }),
            dest,
            pause: self.settings.install_pause,
        }
    }
}
