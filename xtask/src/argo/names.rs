//! Application names: Argo CD's `SanitizeName` and what the controller does with two Applications
//! of one name.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::application::Application;
use super::RULE_DUPLICATE;
use crate::verify::names::{digest, NameList};
use crate::verify::problem::{line_of_key, Problem};

/// The names generated so far, to find two Applications with the same name: Argo CD rejects the
/// later one. Of each Application only a digest of its name is kept, with the number of its
/// component file: 20 bytes, however long the name.
#[derive(Default)]
pub(crate) struct Names {
    /// The first 16 bytes of each name's sha256 (equal digests are equal names, as the render
    /// cache trusts too), with the number of the component file that generated it first.
    seen: HashMap<[u8; 16], u32>,
    /// The component files in the order first seen, and each one's number by a digest of its
    /// path: no small allocation per file.
    files: NameList,
    file_numbers: HashMap<[u8; 16], u32>,
    /// (first component file, later one) to the names both generate.
    clashes: BTreeMap<(u32, u32), Vec<String>>,
}

impl Names {
    fn file(&mut self, file: &str) -> u32 {
        let number = digest(file);
        if let Some(&i) = self.file_numbers.get(&number) {
            return i;
        }
        let i = u32::try_from(self.files.count()).expect("fewer than 4 billion component files");
        self.files.push(file);
        self.file_numbers.insert(number, i);
        i
    }

    /// Removes from `apps` every Application whose name an earlier one has.
    pub(crate) fn keep_first(&mut self, apps: &mut Vec<Application>) {
        apps.retain(|app| {
            let later = self.file(&app.component_file);
            let name = digest(&app.name);
            match self.seen.get(&name) {
                Some(&first) => {
                    self.clashes
                        .entry((first, later))
                        .or_default()
                        .push(app.name.clone());
                    false
                }
                None => {
                    self.seen.insert(name, later);
                    true
                }
            }
        });
    }

    /// One problem per pair of files, naming every Application they both generate.
    pub(crate) fn clashes(&self, root: &Path) -> Vec<Problem> {
        let file = |number: u32| -> &str {
            self.files
                .get(number as usize)
                .expect("every number was given to a file")
        };
        self.clashes
            .iter()
            .map(|(&(first, later), names)| {
                let (first, later) = (file(first), file(later));
                let text = std::fs::read_to_string(root.join(later)).unwrap_or_default();
                let (noun, verb, one) = if names.len() == 1 {
                    ("Application", "is", "one")
                } else {
                    ("Applications", "are", "ones")
                };
                Problem::new(
                    later,
                    line_of_key(&text, "name"),
                    RULE_DUPLICATE,
                    format!(
                        "{noun} {} {verb} generated from both {first} and {later}; Argo CD rejects the later {one} (from {later}); give one of the components another name",
                        names.join(", ")
                    ),
                )
            })
            .collect()
    }
}

/// Argo CD's `utils.SanitizeName`: lowercase, anything but `[-a-z0-9.]` becomes '-', at most 253
/// characters, no leading or trailing '-' or '.'.
pub(crate) fn sanitize_name(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut out: String = lower
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '.' => c,
            _ => '-',
        })
        .collect();
    if out.len() > 253 {
        let mut end = 253;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out.trim_matches(['-', '.']).to_owned()
}
