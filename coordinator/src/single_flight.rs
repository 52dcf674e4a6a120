//! Single flight for probes: a wave of requests (make -j32 starting 32
//! compiles at once) that all need the same answer — a compiler's `-MP`
//! style, a toolchain's health — runs the probe once; the others wait for
//! that one's result. Answers are kept for the coordinator's life (the
//! callers key them by what would change the answer: the compiler path and
//! its size and mtime, the MCU). A failed probe is not an answer
//! ([`Memo::get_or_try_run`]): the wave that waited for it shares the
//! failure, the next request probes again (seen: one health probe that
//! timed out under load failed every later build until the coordinator
//! exited).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

pub struct Memo<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, T: Clone, E: Clone> Memo<K, Result<T, E>> {
    /// The answer for `key`: computed by `probe` if no one did yet, else
    /// the one the first caller computed (waiting for it if it is
    /// running). A success is kept; a failure goes to every caller waiting
    /// for this run and is then forgotten, so the next caller probes again.
    pub async fn get_or_try_run<F, Fut>(&self, key: &K, probe: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(cells.entry(key.clone()).or_default())
        };
        let value = cell.get_or_init(probe).await.clone();
        if value.is_err() {
            let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
            if cells.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                cells.remove(key);
            }
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wave_runs_the_probe_once() {
        let memo: Arc<Memo<String, Result<usize, String>>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (memo, runs) = (Arc::clone(&memo), Arc::clone(&runs));
            tasks.push(tokio::spawn(async move {
                memo.get_or_try_run(&"gcc".to_string(), || async {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    Ok(runs.fetch_add(1, Ordering::SeqCst) + 7)
                })
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(7));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failure_is_shared_by_its_wave_and_then_forgotten() {
        let memo: Arc<Memo<String, Result<usize, String>>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, gate) = tokio::sync::watch::channel(false);
        let probe = |fail: bool| {
            let (runs, mut gate) = (Arc::clone(&runs), gate.clone());
            move || async move {
                let _ = gate.wait_for(|open| *open).await;
                match runs.fetch_add(1, Ordering::SeqCst) {
                    n if fail => Err(format!("probe {n} timed out")),
                    n => Ok(n),
                }
            }
        };
        let key = "gcc".to_string();
        let mut wave = Vec::new();
        for _ in 0..8 {
            let (memo, key, probe) = (Arc::clone(&memo), key.clone(), probe(true));
            wave.push(tokio::spawn(async move {
                memo.get_or_try_run(&key, probe).await
            }));
        }
        // Every task of the wave holds the one cell before the probe ends.
        let holders = || {
            let cells = memo.cells.lock().unwrap();
            cells.get(&key).map_or(0, Arc::strong_count)
        };
        while holders() < 9 {
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        for t in wave {
            assert_eq!(t.await.unwrap(), Err("probe 0 timed out".to_string()));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "the wave ran one probe");
        // The next request probes again, and its success is kept.
        assert_eq!(memo.get_or_try_run(&key, probe(false)).await, Ok(1));
        assert_eq!(memo.get_or_try_run(&key, probe(true)).await, Ok(1));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}
