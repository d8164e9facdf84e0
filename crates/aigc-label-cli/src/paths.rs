//! Which files a command works on: explicit files, directories walked recursively, and `-` for
//! a list of paths on standard input. Globs and format filters apply to what a walk finds;
//! explicitly named files are always taken.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Set when a directory walk hit an entry it could not read; the command then exits 3.
pub static WALK_FAILED: AtomicBool = AtomicBool::new(false);

/// Expands the arguments lazily: directories are walked as the iterator is pulled, and `-` reads
/// standard input line by line, so a list of millions of paths is never held in memory.
pub fn expand(args: Vec<PathBuf>, filter: Filter) -> impl Iterator<Item = Item> + Send {
    let filter = Arc::new(filter);
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
                let filter = Arc::clone(&filter);
                let root = arg.clone();
                let walker = walkdir::WalkDir::new(&arg)
                    .follow_links(false)
                    .sort_by_file_name()
                    .into_iter();
                let files = walker
                    .filter_map(walk_error)
                    .filter(|e| e.file_type().is_file() && !is_our_temp(e.file_name()));
                Box::new(files.filter_map(move |e| {
                    let relative = e.path().strip_prefix(&root).ok()?.to_path_buf();
                    filter.keeps(&relative).then(|| Item {
                        path: e.into_path(),
                        relative,
                    })
                }))
            } else {
                Box::new(std::iter::once(Item {
                    relative: file_name(&arg),
                    path: arg,
                }))
            }
        })
}

/// Temporary files of an interrupted atomic write (see `aigc_label::embed_file`): never inputs.
fn is_our_temp(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with(".aigc-label-") && name.ends_with(".tmp")
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
