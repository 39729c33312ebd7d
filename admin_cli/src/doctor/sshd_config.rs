//! Reading sshd_config the way sshd does, keeping where each value came from.
//!
//! sshd keeps the *first* value it reads for a keyword, and `Include` (Debian's config starts
//! with `Include /etc/ssh/sshd_config.d/*.conf`) inlines files in lexical order at that point.
//! So a drop-in silently overrides a later line of the main file. This reader walks the files
//! in sshd's order and records, for each keyword, the line that wins and the lines it overrides.
//! `Match` blocks apply only to some connections; what follows a `Match` is not global.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One `Keyword value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Keyword, lower case (aliases folded: `challengeresponseauthentication` → `kbdinteractiveauthentication`).
    pub keyword: String,
    /// The value as written (rest of the line).
    pub value: String,
    /// The file.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
}

impl Directive {
    /// `FILE line N`.
    pub fn place(&self) -> String {
        format!("{} line {}", self.file.display(), self.line)
    }
}

/// The global directives of a configuration, in the order sshd reads them.
#[derive(Debug, Default)]
pub struct SshdFiles {
    /// Global directives (outside `Match` blocks), in reading order.
    pub directives: Vec<Directive>,
    /// Files read, in order.
    pub files: Vec<PathBuf>,
    /// Problems reading (missing main file, unreadable include), in words.
    pub problems: Vec<String>,
}

impl SshdFiles {
    /// The line that sets `keyword` (lower case), if any: the first one.
    pub fn winner(&self, keyword: &str) -> Option<&Directive> {
        self.directives.iter().find(|d| d.keyword == keyword)
    }

    /// Later lines for `keyword` that sshd ignores because an earlier one won.
    pub fn overridden(&self, keyword: &str) -> Vec<&Directive> {
        self.directives
            .iter()
            .filter(|d| d.keyword == keyword)
            .skip(1)
            .collect()
    }

    /// First values of every keyword.
    pub fn effective(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for d in &self.directives {
            m.entry(d.keyword.clone())
                .or_insert_with(|| d.value.clone());
        }
        m
    }
}

/// Reads `main` and every file it includes. Relative `Include` paths are taken relative to
/// the main file's directory (that is `/etc/ssh` for the real configuration, as sshd does).
pub fn read(main: &Path) -> SshdFiles {
    let mut out = SshdFiles::default();
    let base = main
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/etc/ssh"));
    read_file(main, &base, 0, &mut out);
    out
}

fn fold(keyword: &str) -> String {
    let k = keyword.to_ascii_lowercase();
    match k.as_str() {
        "challengeresponseauthentication" => "kbdinteractiveauthentication".into(),
        _ => k,
    }
}

fn read_file(path: &Path, base: &Path, depth: usize, out: &mut SshdFiles) {
    if depth > 16 {
        out.problems
            .push(format!("{}: Include nested too deeply", path.display()));
        return;
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            out.problems.push(format!("{}: {e}", path.display()));
            return;
        }
    };
    out.files.push(path.to_path_buf());
    let mut in_match = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (kw, rest) = split_keyword(line);
        let keyword = fold(kw);
        let value = strip_quotes(rest.trim());
        if keyword == "match" {
            in_match = true;
            continue;
        }
        if keyword == "include" {
            if in_match {
                continue;
            }
            for pattern in value.split_whitespace() {
                let pattern = strip_quotes(pattern);
                let p = if Path::new(&pattern).is_absolute() {
                    PathBuf::from(&pattern)
                } else {
                    base.join(&pattern)
                };
                for f in expand_glob(&p, out) {
                    read_file(&f, base, depth + 1, out);
                }
            }
            continue;
        }
        if in_match {
            continue;
        }
        out.directives.push(Directive {
            keyword,
            value,
            file: path.to_path_buf(),
            line: i + 1,
        });
    }
}

fn split_keyword(line: &str) -> (&str, &str) {
    // `Keyword value`, `Keyword=value` and `Keyword = value` are all accepted by sshd.
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (kw, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest);
    (kw, rest)
}

fn strip_quotes(s: &str) -> String {
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
        .to_string()
}

/// Expands `*` and `?` in the last path component, sorted like glob(3). A path without
/// wildcards is returned as is when it exists (a missing literal include is an error in sshd).
fn expand_glob(p: &Path, out: &mut SshdFiles) -> Vec<PathBuf> {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        if p.exists() {
            return vec![p.to_path_buf()];
        }
        out.problems
            .push(format!("Include {}: no such file", p.display()));
        return Vec::new();
    }
    let Some(dir) = p.parent() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        // A glob that matches nothing is fine for sshd (Debian's drop-in directory may be empty).
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| wildcard(&name, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Shell-style matching of `*` and `?`; a leading dot must be matched explicitly.
pub fn wildcard(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_glob() {
        assert!(wildcard("*.conf", "50-cloud-init.conf"));
        assert!(!wildcard("*.conf", "50-cloud-init.conf.bak"));
        assert!(!wildcard("*.conf", ".hidden.conf"));
        assert!(wildcard("a?c", "abc"));
        assert!(wildcard("*", "x"));
    }

    #[test]
    fn a_drop_in_wins_over_a_later_line_of_the_main_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(
            dir.path().join("sshd_config"),
            "Include d/*.conf\nKbdInteractiveAuthentication yes\nUsePAM yes\nMatch User bob\n  UsePAM no\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("d/50-cloud.conf"),
            "ChallengeResponseAuthentication=no\n",
        )
        .unwrap();
        let f = read(&dir.path().join("sshd_config"));
        let w = f.winner("kbdinteractiveauthentication").unwrap();
        assert_eq!(w.value, "no");
        assert!(w.file.ends_with("d/50-cloud.conf"));
        assert_eq!(f.overridden("kbdinteractiveauthentication")[0].line, 2);
        assert_eq!(
            f.effective()["usepam"],
            "yes",
            "a Match block is not global"
        );
        assert!(f.problems.is_empty(), "{:?}", f.problems);
    }
}
