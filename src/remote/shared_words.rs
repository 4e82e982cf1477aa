//! Words of memory every backend of the cluster sees: a small file in the
//! data directory mapped into each process, used only through atomics.
//!
//! A mapped file, not Postgres shared memory, so that sharing works without
//! `shared_preload_libraries`. When the file cannot be used the words live
//! in this process only, and [`SharedWords::is_shared`] says so.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};

pub struct SharedWords {
    storage: Storage,
    len: usize,
}

enum Storage {
    Shared(memmap2::MmapMut),
    Local(Box<[AtomicU64]>),
}

impl SharedWords {
    /// `len` words mapped from `path` (created, zero-filled, when missing),
    /// or in this process only when the file cannot be used.
    pub fn open(path: &Path, len: usize) -> SharedWords {
        match Self::map(path, len) {
            Ok(map) => SharedWords {
                storage: Storage::Shared(map),
                len,
            },
            Err(_) => SharedWords::local(len),
        }
    }

    /// `len` zeroed words in this process only.
    pub fn local(len: usize) -> SharedWords {
        SharedWords {
            storage: Storage::Local((0..len).map(|_| AtomicU64::new(0)).collect()),
            len,
        }
    }

    fn map(path: &Path, len: usize) -> std::io::Result<memmap2::MmapMut> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let size = (len * 8) as u64;
        if file.metadata()?.len() < size {
            file.set_len(size)?;
        }
        // SAFETY: the file is ours and only ever accessed through atomics.
        unsafe { memmap2::MmapMut::map_mut(&file) }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.storage, Storage::Shared(_))
    }

    pub fn words(&self) -> &[AtomicU64] {
        match &self.storage {
            // SAFETY: the map is page-aligned, at least `len * 8` bytes long
            // (the file was extended to that before mapping) and lives as
            // long as `self`; AtomicU64 has u64's layout.
            Storage::Shared(map) => unsafe {
                std::slice::from_raw_parts(map.as_ptr() as *const AtomicU64, self.len)
            },
            Storage::Local(words) => words,
        }
    }
}

/// The process-wide words of `path` (this process's own when `None`),
/// opened once.
pub fn open(path: Option<&Path>, len: usize) -> Arc<SharedWords> {
    type Opened = Mutex<Vec<(Option<PathBuf>, Arc<SharedWords>)>>;
    static OPENED: OnceLock<Opened> = OnceLock::new();
    let mut opened = OPENED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some((_, words)) = opened
        .iter()
        .find(|(p, w)| p.as_deref() == path && w.len == len)
    {
        return words.clone();
    }
    let words = Arc::new(match path {
        Some(p) => SharedWords::open(p, len),
        None => SharedWords::local(len),
    });
    opened.push((path.map(Path::to_path_buf), words.clone()));
    words
}
