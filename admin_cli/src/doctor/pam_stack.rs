//! Reading a PAM service's `auth` stack the way libpam does: `@include`, `include` and
//! `substack` inlined, simple controls turned into their bracketed actions, and where every line
//! came from kept for the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What libpam does with one return value of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `ignore`.
    Ignore,
    /// `bad`.
    Bad,
    /// `die`.
    Die,
    /// `ok`.
    Ok,
    /// `done`: end the stack now with this result.
    Done,
    /// `reset`.
    Reset,
    /// Skip the next N lines.
    Jump(usize),
}

/// A line's control, as value → action (`default` for the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// As written (`required`, `[success=1 default=ignore]`).
    pub written: String,
    actions: BTreeMap<String, Action>,
}

impl Control {
    /// Parses a control word or bracket expression.
    pub fn parse(s: &str) -> Option<Control> {
        let pairs: &[(&str, &str)] = match s {
            "required" => &[
                ("success", "ok"),
                ("new_authtok_reqd", "ok"),
                ("ignore", "ignore"),
                ("default", "bad"),
            ],
            "requisite" => &[
                ("success", "ok"),
                ("new_authtok_reqd", "ok"),
                ("ignore", "ignore"),
                ("default", "die"),
            ],
            "sufficient" => &[
                ("success", "done"),
                ("new_authtok_reqd", "done"),
                ("default", "ignore"),
            ],
            "optional" => &[
                ("success", "ok"),
                ("new_authtok_reqd", "ok"),
                ("default", "ignore"),
            ],
            _ => &[],
        };
        let mut actions = BTreeMap::new();
        if !pairs.is_empty() {
            for (k, v) in pairs {
                actions.insert((*k).to_string(), parse_action(v)?);
            }
        } else {
            let inner = s.strip_prefix('[')?.strip_suffix(']')?;
            for item in inner.split_whitespace() {
                let (k, v) = item.split_once('=')?;
                actions.insert(k.to_ascii_lowercase(), parse_action(v)?);
            }
        }
        Some(Control {
            written: s.to_string(),
            actions,
        })
    }

    /// The action for a return value (`success`, `auth_err`, `ignore`, ...), falling back to `default`.
    pub fn on(&self, value: &str) -> Action {
        self.actions
            .get(value)
            .or_else(|| self.actions.get("default"))
            .cloned()
            .unwrap_or(Action::Ignore)
    }
}

fn parse_action(s: &str) -> Option<Action> {
    Some(match s.to_ascii_lowercase().as_str() {
        "ignore" => Action::Ignore,
        "bad" => Action::Bad,
        "die" => Action::Die,
        "ok" => Action::Ok,
        "done" => Action::Done,
        "reset" => Action::Reset,
        n => Action::Jump(n.parse().ok()?),
    })
}

/// One `auth` line of the expanded stack.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its control.
    pub control: Control,
    /// Module file name (`pam_unix.so`), without directories.
    pub module: String,
    /// Module arguments.
    pub args: Vec<String>,
    /// Where it is written.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
}

impl Entry {
    /// `FILE line N`.
    pub fn place(&self) -> String {
        format!("{} line {}", self.file.display(), self.line)
    }
    /// `auth CONTROL MODULE ARGS` as written.
    pub fn text(&self) -> String {
        let mut s = format!("auth {} {}", self.control.written, self.module);
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
    /// The module is this one (`pam_permit` matches `pam_permit.so` and `/lib/.../pam_permit.so`).
    pub fn is(&self, name: &str) -> bool {
        self.module.trim_end_matches(".so") == name
    }
    /// It has this argument.
    pub fn has_arg(&self, a: &str) -> bool {
        self.args.iter().any(|x| x == a)
    }
}

/// A service's auth stack and the problems met reading it.
#[derive(Debug, Default)]
pub struct Stack {
    /// Lines in the order libpam runs them.
    pub entries: Vec<Entry>,
    /// Unreadable includes, unparsable lines.
    pub problems: Vec<String>,
}

/// Reads the `auth` stack of `service` from `dir`. `None` when the service file does not exist.
pub fn read(dir: &Path, service: &str) -> Option<Stack> {
    let path = dir.join(service);
    if !path.is_file() {
        return None;
    }
    let mut st = Stack::default();
    read_into(dir, &path, 0, &mut st);
    Some(st)
}

/// Joins `\`-continued lines, keeping the number of the first.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    for (i, l) in text.lines().enumerate() {
        if cur.is_empty() {
            start = i + 1;
        }
        if let Some(x) = l.strip_suffix('\\') {
            cur.push_str(x);
            cur.push(' ');
        } else {
            cur.push_str(l);
            out.push((start, std::mem::take(&mut cur)));
        }
    }
    if !cur.is_empty() {
        out.push((start, cur));
    }
    out
}

/// Splits a line into words, keeping a `[...]` control as one word.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in line.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            c if c.is_whitespace() && depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn read_into(dir: &Path, path: &Path, depth: usize, st: &mut Stack) {
    if depth > 16 {
        st.problems
            .push(format!("{}: includes nested too deeply", path.display()));
        return;
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            st.problems.push(format!("{}: {e}", path.display()));
            return;
        }
    };
    for (n, raw) in logical_lines(&text) {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let w = words(line);
        if w[0] == "@include" {
            match w.get(1) {
                Some(f) => read_into(dir, &resolve(dir, f), depth + 1, st),
                None => st.problems.push(format!(
                    "{} line {n}: @include without a file",
                    path.display()
                )),
            }
            continue;
        }
        let ty = w[0].trim_start_matches('-').to_ascii_lowercase();
        if ty != "auth" {
            continue;
        }
        let (Some(control), Some(module)) = (w.get(1), w.get(2)) else {
            if matches!(w.get(1).map(String::as_str), Some("include" | "substack")) {
                st.problems.push(format!(
                    "{} line {n}: {} without a file",
                    path.display(),
                    w[1]
                ));
            } else {
                st.problems.push(format!(
                    "{} line {n}: incomplete line {line:?}",
                    path.display()
                ));
            }
            continue;
        };
        if control == "include" || control == "substack" {
            // A substack scopes jumps and `done`; inlining it is close enough for these checks.
            read_into(dir, &resolve(dir, module), depth + 1, st);
            continue;
        }
        let Some(control) = Control::parse(control) else {
            st.problems.push(format!(
                "{} line {n}: cannot read the control {control:?}",
                path.display()
            ));
            continue;
        };
        let module = Path::new(module)
            .file_name()
            .map(|m| m.to_string_lossy().to_string())
            .unwrap_or_else(|| module.clone());
        st.entries.push(Entry {
            control,
            module,
            args: w[3..].to_vec(),
            file: path.to_path_buf(),
            line: n,
        });
    }
}

fn resolve(dir: &Path, f: &str) -> PathBuf {
    if Path::new(f).is_absolute() {
        PathBuf::from(f)
    } else {
        dir.join(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_controls_become_actions() {
        let c = Control::parse("sufficient").unwrap();
        assert_eq!(c.on("success"), Action::Done);
        assert_eq!(c.on("auth_err"), Action::Ignore);
        let c = Control::parse("[success=1 default=ignore]").unwrap();
        assert_eq!(c.on("success"), Action::Jump(1));
        assert_eq!(c.on("auth_err"), Action::Ignore);
        assert!(Control::parse("[success=banana]").is_none());
        assert!(Control::parse("sometimes").is_none());
    }

    #[test]
    fn includes_are_inlined_in_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("common-auth"),
            "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\nauth required pam_permit.so\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sshd"),
            "# comment\n@include common-auth\naccount required pam_nologin.so\nauth required \\\n  pam_twofold.so nullok\n",
        )
        .unwrap();
        let st = read(dir.path(), "sshd").unwrap();
        let mods: Vec<&str> = st.entries.iter().map(|e| e.module.as_str()).collect();
        assert_eq!(
            mods,
            vec![
                "pam_unix.so",
                "pam_deny.so",
                "pam_permit.so",
                "pam_twofold.so"
            ]
        );
        assert!(st.entries[3].has_arg("nullok"));
        assert_eq!(st.entries[3].line, 4);
        assert!(read(dir.path(), "nope").is_none());
    }
}
