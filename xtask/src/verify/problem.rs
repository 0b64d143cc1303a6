//! A problem found by `verify`: printed as `path:line: rule-id: message`, all of them, then one
//! failure.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// Repository path of the file at fault.
    pub path: String,
    /// 1-based line, 0 when the problem is about the whole file.
    pub line: usize,
    /// A stable id such as `component-schema` or `secret-literal`.
    pub rule: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    pub fn new(
        path: impl Into<String>,
        line: usize,
        rule: &'static str,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            path: path.into(),
            line,
            rule,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.path,
            self.line.max(1),
            self.rule,
            self.message
        )
    }
}

/// The 1-based line of the first line of `text` that starts (after indentation) with `key:`;
/// 0 when there is none.
pub fn line_of_key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(':'))
        })
        .map_or(0, |i| i + 1)
}

/// Where the grouped Applications go in a message.
#[derive(Clone, Copy, Debug)]
pub enum Naming {
    /// `Applications a, b: message` (render failures: the Applications are the subject).
    Before,
    /// `message (Applications a, b)` (convention rules: the file is the subject).
    After,
}

/// Problems that differ only in the Application they were found through, reported once naming
/// every such Application (one faulty value file shared by three envs is one problem).
pub fn group_by_application(found: Vec<(Problem, String)>, naming: Naming) -> Vec<Problem> {
    let mut grouped: std::collections::BTreeMap<Problem, Vec<String>> = Default::default();
    for (problem, app) in found {
        let apps = grouped.entry(problem).or_default();
        if !apps.contains(&app) {
            apps.push(app);
        }
    }
    grouped
        .into_iter()
        .map(|(mut problem, apps)| {
            let noun = if apps.len() == 1 {
                "Application"
            } else {
                "Applications"
            };
            problem.message = match naming {
                Naming::Before => format!("{noun} {}: {}", apps.join(", "), problem.message),
                Naming::After => format!("{} ({noun} {})", problem.message, apps.join(", ")),
            };
            problem
        })
        .collect()
}
