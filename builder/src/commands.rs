//! The command lines of a build's outputs, kept beside its state in
//! `fbuild-commands.json` and read only to say what changed in one (`-v`:
//! "added -DX; removed -DY"). The state itself, read by every build, keeps
//! a hash of each command only: a core of a few hundred objects with long
//! include lists would make it megabytes.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

type Lines = BTreeMap<PathBuf, Vec<String>>;

#[derive(Debug, Clone, Default)]
pub struct Commands {
    file: Option<PathBuf>,
    /// What the file holds, read when first needed.
    stored: OnceCell<Lines>,
    /// Commands run by this build.
    fresh: Lines,
}

impl Commands {
    /// The commands kept in `file`.
    pub fn at(file: PathBuf) -> Commands {
        Commands {
            file: Some(file),
            ..Commands::default()
        }
    }

    fn stored(&self) -> &Lines {
        self.stored.get_or_init(|| {
            self.file
                .as_deref()
                .and_then(|f| std::fs::read(f).ok())
                .and_then(|t| {
                    let mut de = serde_json::Deserializer::from_slice(&t);
                    crate::path_keys::map::deserialize(&mut de).ok()
                })
                .unwrap_or_default()
        })
    }

    /// The command that last made `output` (empty if unknown).
    pub fn of(&self, output: &Path) -> Vec<String> {
        self.fresh
            .get(output)
            .or_else(|| self.stored().get(output))
            .cloned()
            .unwrap_or_default()
    }

    pub fn keep(&mut self, output: &Path, command: &[String]) {
        self.fresh.insert(output.to_path_buf(), command.to_vec());
    }

    /// Writes the file with this build's commands, if it ran any.
    pub fn save(&mut self) -> std::io::Result<()> {
        let Some(file) = self.file.clone().filter(|_| !self.fresh.is_empty()) else {
            return Ok(());
        };
        let mut all = self.stored().clone();
        all.append(&mut self.fresh);
        let tmp = file.with_extension("json.tmp");
        let mut text = Vec::new();
        crate::path_keys::map::serialize(&all, &mut serde_json::Serializer::new(&mut text))
            .map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, file)?;
        self.stored = OnceCell::from(all);
        Ok(())
    }
}
// Non-UTF-8 names are a Unix fact.
#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn commands_of_odd_paths_are_kept() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("commands.json");
        let odd = PathBuf::from(std::ffi::OsStr::from_bytes(b"/a \xff/x.o"));
        let mut kept = Commands::at(file.clone());
        kept.keep(&odd, &["cc".to_string(), "-c".to_string()]);
        kept.save().unwrap();
        assert_eq!(Commands::at(file).of(&odd), ["cc", "-c"]);
    }
}
