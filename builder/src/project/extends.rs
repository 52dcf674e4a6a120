//! `extends`, as PlatformIO resolves it: a section's option is its own
//! value, else the first value found in the sections it extends, in the
//! order given, each with its own `extends` (depth first). A section
//! reached twice (a diamond: `a` extends `b, c`, both extend `base`) is
//! fine; only a real cycle is an error. Resolved once for the whole file,
//! parents before children, in time linear in the number of sections and
//! options (seen before: a diamond rejected as a cycle, and a 3,200-deep
//! chain taking 31 s because every env walked its whole chain again).

use std::collections::HashMap;

use super::ini::{ConfigError, Entry, Ini, Section};
use super::split_list;

/// Each section's options with what it extends merged in.
pub struct Extended<'a> {
    index: HashMap<&'a str, usize>,
    merged: Vec<HashMap<&'a str, &'a Entry>>,
}

impl<'a> Extended<'a> {
    pub fn resolve(ini: &'a Ini) -> Result<Self, ConfigError> {
        let index: HashMap<&str, usize> = ini
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let parents = ini
            .sections
            .iter()
            .map(|s| parents_of(ini, &index, s))
            .collect::<Result<Vec<_>, _>>()?;
        let mut merged: Vec<Option<HashMap<&str, &Entry>>> = vec![None; ini.sections.len()];
        let mut on_path = vec![false; ini.sections.len()];
        for root in 0..ini.sections.len() {
            // Iterative depth-first walk (a 10,000-deep chain must not
            // overflow the stack): (section, next parent to visit).
            let mut stack = vec![(root, 0usize)];
            while let Some(&mut (at, ref mut next)) = stack.last_mut() {
                if merged[at].is_some() {
                    stack.pop();
                    continue;
                }
                on_path[at] = true;
                if let Some(&parent) = parents[at].get(*next) {
                    *next += 1;
                    if on_path[parent] {
                        return Err(cycle(ini, &stack, parent));
                    }
                    if merged[parent].is_none() {
                        stack.push((parent, 0));
                    }
                    continue;
                }
                let mut own: HashMap<&str, &Entry> = HashMap::new();
                for e in &ini.sections[at].entries {
                    own.insert(e.key.as_str(), e); // the last one wins
                }
                for &p in &parents[at] {
                    for (k, e) in merged[p].as_ref().expect("parents are resolved first") {
                        own.entry(k).or_insert(e);
                    }
                }
                merged[at] = Some(own);
                on_path[at] = false;
                stack.pop();
            }
        }
        Ok(Extended {
            index,
            merged: merged.into_iter().map(Option::unwrap_or_default).collect(),
        })
    }

    /// Every option of `section` through its `extends`, sorted by key.
    pub fn entries(&self, section: &str) -> Vec<(&'a str, &'a Entry)> {
        let Some(&i) = self.index.get(section) else {
            return Vec::new();
        };
        let mut all: Vec<(&str, &Entry)> = self.merged[i].iter().map(|(k, e)| (*k, *e)).collect();
        all.sort_by_key(|(k, _)| *k);
        all
    }

    /// `key` of the section named `section`, through its `extends`.
    pub fn get(&self, section: &str, key: &str) -> Option<&'a Entry> {
        let i = *self.index.get(section)?;
        self.merged[i].get(key).copied()
    }
}

/// The sections `section` extends, by index.
fn parents_of(
    ini: &Ini,
    index: &HashMap<&str, usize>,
    section: &Section,
) -> Result<Vec<usize>, ConfigError> {
    let Some(e) = section.get("extends") else {
        return Ok(Vec::new());
    };
    split_list(&e.value)
        .iter()
        .map(|parent| {
            index
                .get(parent.as_str())
                .or_else(|| index.get(format!("env:{parent}").as_str()))
                .copied()
                .ok_or_else(|| ConfigError {
                    file: ini.file.clone(),
                    line: Some(e.line),
                    message: format!("[{}] extends unknown section [{parent}]", section.name),
                })
        })
        .collect()
}

fn cycle(ini: &Ini, stack: &[(usize, usize)], back_to: usize) -> ConfigError {
    let start = stack.iter().position(|(i, _)| *i == back_to).unwrap_or(0);
    let names: Vec<String> = stack[start..]
        .iter()
        .map(|(i, _)| format!("[{}]", ini.sections[*i].name))
        .chain(std::iter::once(format!("[{}]", ini.sections[back_to].name)))
        .collect();
    let line = ini.sections[back_to].get("extends").map(|e| e.line);
    ConfigError {
        file: ini.file.clone(),
        line,
        message: format!("`extends` goes round in a cycle: {}", names.join(" → ")),
    }
}
