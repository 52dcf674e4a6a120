//! Single flight for probes: a wave of requests (make -j32 starting 32
//! compiles at once) that all need the same answer — a compiler's `-MP`
//! style, a toolchain's health — runs the probe once; the others wait for
//! that one's result. Results are kept for the coordinator's life (the
//! callers key them by what would change the answer: the compiler path and
//! its size and mtime, the MCU).

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

impl<K: Eq + Hash + Clone, V: Clone> Memo<K, V> {
    /// The value for `key`: computed by `probe` if no one did yet, else the
    /// value the first caller computed (waiting for it if it is running).
    pub async fn get_or_run<F, Fut>(&self, key: &K, probe: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(cells.entry(key.clone()).or_default())
        };
        cell.get_or_init(probe).await.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wave_runs_the_probe_once() {
        let memo: Arc<Memo<String, usize>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (memo, runs) = (Arc::clone(&memo), Arc::clone(&runs));
            tasks.push(tokio::spawn(async move {
                memo.get_or_run(&"gcc".to_string(), || async {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    runs.fetch_add(1, Ordering::SeqCst) + 7
                })
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
