//! The one seam through which fbuild starts other programs: compilers,
//! zccache and sccache, git, uploaders, emulators, test programs, the
//! coordinator itself. It owns what every start must agree on:
//!
//! * the environment a cache tool gets ([`cache_env`]: one list of rules
//!   for the coordinator's daemon commands, the shim's and the build
//!   engine's compiles through zccache's client, and compiles sent over
//!   zccache's wire);
//! * time limits and capture ([`run`]: output drained on threads, a
//!   command stopped at its limit, or watched and stopped with its process
//!   group);
//! * process groups ([`group`]) and the shim's exec with signal forwarding
//!   ([`exec`]), one module per OS difference;
//! * how a start failed ([`RunError`]).
//!
//! A [`Tool`] is plain data (program, arguments, environment changes,
//! working directory), so decisions that run tools (the coordinator's
//! health checks and probes) take a [`Runner`]: [`System`] runs them,
//! [`fake::Fake`] answers them in unit tests and counts them.

pub mod cache_env;
pub mod cache_route;
#[cfg(windows)]
pub mod detached;
pub mod exec;
pub mod fake;
pub mod group;
pub mod response;
pub mod run;

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

pub use run::RunError;

/// A program to start: what it is, its arguments, the changes to the
/// environment it inherits, its working directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tool {
    program: PathBuf,
    args: Vec<OsString>,
    /// In order; `None` removes the variable.
    env: Vec<(OsString, Option<OsString>)>,
    cwd: Option<PathBuf>,
}

impl Tool {
    pub fn new(program: impl Into<PathBuf>) -> Tool {
        Tool {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Tool {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Tool
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Tool {
        self.env.push((
            key.as_ref().to_os_string(),
            Some(value.as_ref().to_os_string()),
        ));
        self
    }

    pub fn envs<I, K, V>(mut self, vars: I) -> Tool
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Tool {
        self.env.push((key.as_ref().to_os_string(), None));
        self
    }

    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Tool {
        self.cwd = Some(dir.into());
        self
    }

    /// The value this tool's environment gives `key`, where it is set or
    /// removed here (`Some(None)`: removed).
    pub fn env_of(&self, key: &str) -> Option<Option<&OsStr>> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_deref())
    }

    /// The program's name, for messages.
    pub fn name(&self) -> String {
        self.program.display().to_string()
    }

    /// The arguments as one line (for `-v`, messages and fakes).
    pub fn line(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The standard library's command for this tool (stdio as the caller
    /// sets it): the only place fbuild makes one.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd
    }
}

/// Runs tools for decisions that depend on what they say (health checks,
/// probes): the real [`System`], or a [`fake::Fake`] in unit tests.
pub trait Runner: Send + Sync {
    /// Runs `tool` with stdin closed and its output captured; stopped
    /// after `limit`.
    fn output(&self, tool: &Tool, limit: Duration) -> Result<Output, RunError>;
}

/// Runs tools for real.
#[derive(Debug, Default, Clone, Copy)]
pub struct System;

impl Runner for System {
    fn output(&self, tool: &Tool, limit: Duration) -> Result<Output, RunError> {
        run::output(tool, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_tool_is_the_command_it_says() {
        let tool = Tool::new("gcc")
            .args(["-c", "x.c"])
            .env("A", "1")
            .env_remove("B")
            .current_dir("/tmp");
        assert_eq!(tool.line(), "gcc -c x.c");
        assert_eq!(tool.env_of("A"), Some(Some(OsStr::new("1"))));
        assert_eq!(tool.env_of("B"), Some(None));
        assert_eq!(tool.env_of("C"), None);
        let cmd = tool.command();
        assert_eq!(cmd.get_program(), "gcc");
        assert_eq!(cmd.get_current_dir(), Some(Path::new("/tmp")));
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(envs.contains(&(OsStr::new("A"), Some(OsStr::new("1")))));
        assert!(envs.contains(&(OsStr::new("B"), None)));
    }
}
