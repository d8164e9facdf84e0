//! Which files a command works on: explicit files, directories walked recursively, and `-` for
//! a list of paths on standard input. Globs and format filters apply to what a walk finds;
//! explicitly named files are always taken.
//!
//! A walk passes over what is plainly not for it, and counts it by reason (see [`Skipped`]):
//! hidden files and folders (`.DS_Store`, `.git/`; `--hidden` takes them), symbolic links (never
//! followed, so a walk stays inside the tree it was given and never writes through a link), and
//! files that are not of a supported format by either their extension or their first bytes
//! (`notes.txt`). It never enters the command's own output folder, so `embed uploads/ -o
//! uploads/out/` run twice does not label its own outputs.

use std::io::{BufRead, BufReader};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use globset::{Glob, GlobSet, GlobSetBuilder};

/// One file to work on, with the root it was found under (for mirroring into an output folder).
#[derive(Debug, Clone)]
pub struct Item {
    /// The file.
    pub path: PathBuf,
    /// Its path relative to the directory argument it was found under, or its file name.
    pub relative: PathBuf,
}

/// Filters for directory walks.
#[derive(Debug, Default)]
pub struct Filter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    extensions: Option<Vec<String>>,
}

impl Filter {
    /// Builds a filter from `--glob` patterns (a leading `!` excludes) and the extensions of the
    /// formats chosen with `--format` (`None` keeps every format).
    pub fn new(globs: &[String], extensions: Option<Vec<String>>) -> Result<Self, globset::Error> {
        let (mut include, mut exclude) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        let (mut any_include, mut any_exclude) = (false, false);
        for pattern in globs {
            match pattern.strip_prefix('!') {
                Some(p) => {
                    exclude.add(Glob::new(p)?);
                    any_exclude = true;
                }
                None => {
                    include.add(Glob::new(pattern)?);
                    any_include = true;
                }
            }
        }
        Ok(Filter {
            include: if any_include { Some(include.build()?) } else { None },
            exclude: if any_exclude { Some(exclude.build()?) } else { None },
            extensions,
        })
    }

    fn keeps(&self, relative: &Path) -> bool {
        let name = relative.file_name().map(Path::new).unwrap_or(relative);
        let matches = |set: &GlobSet| set.is_match(relative) || set.is_match(name);
        if self.include.as_ref().is_some_and(|s| !matches(s)) || self.exclude.as_ref().is_some_and(matches) {
            return false;
        }
        match &self.extensions {
            None => true,
            Some(exts) => relative
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e))),
        }
    }
}

/// How a walk treats what it passes over.
#[derive(Debug, Default, Clone)]
pub struct WalkOptions {
    /// Take hidden files and folders (names starting with `.`) too.
    pub hidden: bool,
    /// Print each skipped entry and why, on standard error.
    pub show_skipped: bool,
    /// Folders never to enter: the command's output folder.
    pub avoid: Vec<PathBuf>,
}

/// Set when a directory walk hit an entry it could not read; the command then exits 3.
pub static WALK_FAILED: AtomicBool = AtomicBool::new(false);

/// Counts of what walks passed over, by reason.
#[derive(Debug, Default)]
pub struct Skipped {
    unsupported: AtomicU64,
    hidden: AtomicU64,
    symlink: AtomicU64,
}

/// What every walk of this run passed over.
pub static SKIPPED: Skipped = Skipped {
    unsupported: AtomicU64::new(0),
    hidden: AtomicU64::new(0),
    symlink: AtomicU64::new(0),
};

impl Skipped {
    /// The non-zero counts, by reason: `unsupported`, `hidden`, `symlink`.
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        [
            ("hidden", &self.hidden),
            ("symlink", &self.symlink),
            ("unsupported", &self.unsupported),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.load(Ordering::Relaxed)))
        .filter(|(_, n)| *n > 0)
        .collect()
    }
}

/// Why a walk passed over an entry.
#[derive(Clone, Copy)]
enum Reason {
    Hidden,
    Symlink,
    Unsupported,
}

impl Reason {
    fn count(self) {
        let counter = match self {
            Reason::Hidden => &SKIPPED.hidden,
            Reason::Symlink => &SKIPPED.symlink,
            Reason::Unsupported => &SKIPPED.unsupported,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn describe(self) -> &'static str {
        match self {
            Reason::Hidden => "hidden (--hidden takes it)",
            Reason::Symlink => "a symbolic link (walks do not follow links; name its target instead)",
            Reason::Unsupported => "not a supported format (neither its extension nor its first bytes)",
        }
    }
}

/// Expands the arguments lazily: directories are walked as the iterator is pulled, and `-` reads
/// standard input line by line, so a list of millions of paths is never held in memory.
pub fn expand(args: Vec<PathBuf>, filter: Filter, options: WalkOptions) -> impl Iterator<Item = Item> + Send {
    let filter = Arc::new(filter);
    let options = Arc::new(options);
    args.into_iter()
        .flat_map(move |arg| -> Box<dyn Iterator<Item = Item> + Send> {
            if arg.as_os_str() == "-" {
                let lines = BufReader::new(std::io::stdin()).lines().map_while(Result::ok);
                Box::new(lines.filter(|l| !l.is_empty()).map(|l| {
                    let path = PathBuf::from(l);
                    Item {
                        relative: file_name(&path),
                        path,
                    }
                }))
            } else if arg.is_dir() {
                Box::new(walk(arg, Arc::clone(&filter), Arc::clone(&options)))
            } else {
                Box::new(std::iter::once(Item {
                    relative: file_name(&arg),
                    path: arg,
                }))
            }
        })
}

/// The files under `root` that the command should work on, in file-name order.
fn walk(root: PathBuf, filter: Arc<Filter>, options: Arc<WalkOptions>) -> impl Iterator<Item = Item> + Send {
    let canonical_root = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
    let (entry_root, entry_options) = (root.clone(), Arc::clone(&options));
    let walker = walkdir::WalkDir::new(&root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(move |e| enters(e, &entry_root, &canonical_root, &entry_options));
    walker.filter_map(walk_error).filter_map(move |e| {
        let relative = e.path().strip_prefix(&root).ok()?.to_path_buf();
        let kind = e.file_type();
        let skip = if kind.is_symlink() {
            Some(Reason::Symlink)
        } else if !kind.is_file() || !filter.keeps(&relative) {
            return None;
        } else if !looks_supported(e.path()) {
            Some(Reason::Unsupported)
        } else {
            None
        };
        match skip {
            Some(reason) => {
                skipped(e.path(), reason, &options);
                None
            }
            None => Some(Item {
                path: e.into_path(),
                relative,
            }),
        }
    })
}

/// Whether a walk looks at `entry` at all (for a folder: enters it): not a hidden entry (unless
/// asked), not our own temporary file, not the output folder.
fn enters(entry: &walkdir::DirEntry, root: &Path, canonical_root: &Path, options: &WalkOptions) -> bool {
    if entry.depth() == 0 {
        return true;
    }
    let name = entry.file_name().to_string_lossy();
    if name.starts_with(".aigc-label-") && name.ends_with(".tmp") {
        // An interrupted atomic write (see `aigc_label::embed_file`): never an input.
        return false;
    }
    if !options.hidden && name.starts_with('.') {
        skipped(entry.path(), Reason::Hidden, options);
        return false;
    }
    if entry.file_type().is_dir() && !options.avoid.is_empty() {
        // Walks do not follow links, so the root's real path joined with the entry's relative
        // path is the entry's real path.
        if let Ok(relative) = entry.path().strip_prefix(root) {
            let real = canonical_root.join(relative);
            if options.avoid.contains(&real) {
                if options.show_skipped {
                    eprintln!("aigc-label: skipped {}: the output folder", entry.path().display());
                }
                return false;
            }
        }
    }
    true
}

fn skipped(path: &Path, reason: Reason, options: &WalkOptions) {
    reason.count();
    if options.show_skipped {
        eprintln!("aigc-label: skipped {}: {}", path.display(), reason.describe());
    }
}

/// True when a supported format claims the file's extension, or its first bytes.
fn looks_supported(path: &Path) -> bool {
    let registry = aigc_label::registry();
    let by_name = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| registry.by_extension(e).is_some());
    by_name
        || std::fs::File::open(path)
            .map_err(aigc_label::Error::from)
            .and_then(|mut f| aigc_label::core::carrier::read_head(&mut f))
            // A file that cannot be read is taken, so the run reports why.
            .map_or(true, |head| registry.detect(&head).is_some())
}

/// Where a folder named by the user really is, for comparing with the folders a walk meets: its
/// real path when it exists, else its nearest existing ancestor's real path with the rest
/// appended (the folder may be created by this run).
pub fn real_folder(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut rest = Vec::new();
    let mut here = absolute.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(here) {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (here.file_name(), here.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                here = parent;
            }
            _ => break,
        }
    }
    // Nothing exists; fall back to the lexical form.
    absolute
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

fn walk_error(entry: walkdir::Result<walkdir::DirEntry>) -> Option<walkdir::DirEntry> {
    match entry {
        Ok(e) => Some(e),
        Err(e) => {
            eprintln!("aigc-label: {e}");
            WALK_FAILED.store(true, Ordering::Relaxed);
            None
        }
    }
}

fn file_name(path: &Path) -> PathBuf {
    path.file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_folder_of_a_folder_still_to_be_made_is_under_its_real_parent() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(real_folder(&dir.path().join("out/deeper")), real.join("out/deeper"));
        assert_eq!(real_folder(dir.path()), real);
    }
}

/// The folders a writing run made for its outputs, so that those still empty at the end (every
/// write into them failed, or none was needed) are removed: a failed run leaves no empty tree.
/// Clones share one list, so the batch's workers can record into it.
#[derive(Clone, Default)]
pub struct MadeFolders(Arc<Mutex<Vec<PathBuf>>>);

impl MadeFolders {
    /// Makes the folder `output` goes into, with its missing parents, and records each one made.
    ///
    /// # Errors
    /// The folder cannot be made (the error names it).
    pub fn make_parent(&self, output: &Path) -> aigc_label::Result<()> {
        let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(());
        };
        let mut missing = Vec::new();
        let mut dir = Some(parent);
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            missing.push(d.to_path_buf());
            dir = d.parent();
        }
        std::fs::create_dir_all(parent).map_err(|e| aigc_label::Error::from(e).with_path(parent))?;
        if let Ok(mut made) = self.0.lock() {
            made.extend(missing);
        }
        Ok(())
    }

    /// Removes the folders made that are still empty, deepest first; a folder that holds
    /// anything (or vanished) is left alone.
    pub fn remove_empty(&self) {
        let Ok(mut made) = self.0.lock() else { return };
        made.sort_by(|a, b| {
            b.components()
                .count()
                .cmp(&a.components().count())
                .then_with(|| a.cmp(b))
        });
        made.dedup();
        for dir in made.iter() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}
